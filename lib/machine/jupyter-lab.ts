/**
 * JupyterLab on a machine: a student's (or a cluster's scheduler), run by the
 * bootstrap's jupyter phase (userdata/phases/jupyter.sh) as a systemd service
 * that listens on the machine's loopback only. Its token is made on the
 * machine at first boot and never leaves it but through the login user's own
 * SSH session. Free of CDK imports, so that the CLI can read it.
 */
import { normalizeProjectName, parseRequirement } from '../config/requirement';

/** The port JupyterLab listens on, on 127.0.0.1; the handouts' tunnels forward it. */
export const JUPYTER_PORT = 8888;

/** What the venv needs for JupyterLab, added to python.packages on machines that run it. */
export const JUPYTER_PACKAGES: readonly string[] = ['jupyterlab'];

/** The folder in the login user's home that JupyterLab opens (and the course materials go to). */
export const COURSE_FOLDER = 'course';

/** The file on the machine that holds JupyterLab's token, root's and the login user's to read. */
export const JUPYTER_TOKEN_FILE = '/etc/dasklab/jupyter.env';

/** The command on the machine that prints JupyterLab's address with its token, for the login user. */
export const JUPYTER_URL_COMMAND = 'dasklab-jupyter-url';

/**
 * `packages` and JupyterLab's packages, each project once: a JupyterLab the
 * config names (pinned or not) is kept as written.
 */
export function packagesWithJupyter(packages: readonly string[]): string[] {
  const named = new Set(packages.map((spec) => normalizeProjectName(parseRequirement(spec).name)));
  return [...packages, ...JUPYTER_PACKAGES.filter((spec) => !named.has(normalizeProjectName(parseRequirement(spec).name)))];
}
