/**
 * How a student reaches the JupyterLab on their machine: one ssh command that
 * forwards JupyterLab's port (and the Dask dashboard's) to the student's own
 * loopback and logs in; on login the machine prints JupyterLab's address with
 * its token, which exists only on the machine. The same command goes through
 * Session Manager when port 22 is closed (ssh's ProxyCommand with the
 * AWS-StartSSHSession document, which carries ssh's port forwards too:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-getting-started-enable-ssh-connections.html),
 * and works alike in the OpenSSH of Linux, macOS and Windows 10 and 11.
 */
import { Connection, shellJoin, sshArgv } from './connection';
import { DASK_PORTS } from '../cluster/dask-ports';
import { HandoutEntry } from './handout-entry';
import { JUPYTER_PORT, JUPYTER_URL_COMMAND } from '../machine/jupyter-lab';

/** `ssh [-i KEY] [-o ProxyCommand=...] -o ExitOnForwardFailure=yes -L 8888:... -L 8787:... user@host`. */
export function jupyterTunnelArgv(connection: Connection, keyFile?: string): string[] {
  const argv = sshArgv(connection, keyFile);
  const destination = argv.pop()!;
  // ssh only warns when a forward fails (the student's own Jupyter on 8888): the
  // address shown on login would then open whatever holds the port.
  argv.push('-o', 'ExitOnForwardFailure=yes');
  for (const port of [JUPYTER_PORT, DASK_PORTS.dashboard]) argv.push('-L', `${port}:127.0.0.1:${port}`);
  return [...argv, destination];
}

/** Whether a handout's main machine runs JupyterLab, when the config says it does. */
export function runsJupyter(entry: HandoutEntry, jupyter: boolean | undefined): boolean {
  return jupyter === true && (entry.machine.role === 'student' || entry.machine.role === 'scheduler');
}

/** The handout page's JupyterLab section (without its heading). */
export function jupyterSection(entry: HandoutEntry): string[] {
  const url = `http://127.0.0.1:${JUPYTER_PORT}/lab?token=`;
  return [
    'Your JupyterLab runs on your machine and is reachable only through your own connection. In a terminal (Linux, macOS; on Windows 10 and 11 in PowerShell, whose OpenSSH is built in), run:',
    '',
    `    ${shellJoin(jupyterTunnelArgv(entry.connection, entry.keyFile))}`,
    '',
    `When you are logged in, the machine shows the address of your JupyterLab, \`JupyterLab: ${url}...\`, with your own key in it. Open that address in your browser; it works while this connection is open. To see it again, run \`${JUPYTER_URL_COMMAND}\` on the machine.`,
    '',
    `The Dask dashboard comes through the same connection: http://127.0.0.1:${DASK_PORTS.dashboard}/status. In a notebook, \`from dask.distributed import Client; client = Client()\` connects to ${entry.machine.role === 'scheduler' ? 'your own Dask cluster' : 'a Dask cluster on your machine'}.`,
    '',
  ];
}
