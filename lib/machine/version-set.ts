/**
 * An app's version set: the versions of every Python package its machines
 * installed, so that a machine replaced, reset or relaunched later installs
 * the same ones as the rest of its app. The first machine of each kind that
 * installs a package config shares what pip resolved (`pip freeze`) as an SSM
 * parameter; every later machine installs those versions as pip constraints
 * (userdata/bootstrap.sh, `version_set`). Free of CDK imports, so that the CLI
 * can read it.
 *
 * Layout: `/dasklab/<app>/python/<set>/<kind>`, a String parameter each, where
 * `<set>` is a digest of what decides the versions (Python version, index,
 * packages, the lock file), so that a new package config resolves afresh while an unchanged
 * one keeps its versions for good; `<kind>` is `base` (python.packages) or
 * `jupyter` (the same with JupyterLab). For a package both kinds install, the
 * base kind's version wins on every machine and in the CLI.
 */
import { createHash } from 'crypto';
import { JUPYTER_PACKAGES } from './jupyter-lab';

/** The path under which the machines of `app` keep their version sets (no trailing slash). */
export function versionSetRoot(app: string): string {
  return `/dasklab/${app}/python`;
}

/**
 * The kinds of machine whose packages differ, with JupyterLab or without, in
 * the order a machine merges their pins: for a package both name, the base
 * kind's version wins on every machine (and in the CLI).
 */
export const VERSION_SET_KINDS = ['jupyter', 'base'] as const;
export type VersionSetKind = (typeof VERSION_SET_KINDS)[number];

/** What decides the versions pip resolves for an app. */
export interface VersionSetInputs {
  readonly pythonVersion: string;
  readonly packages: readonly string[];
  readonly indexUrl?: string;
  readonly codeArtifact?: object;
  /** The app's lock file (python.lockFile), which pins every version itself. */
  readonly lockFile?: { readonly sha256: string };
}

/** The path of the app's version set for this package config: `/dasklab/<app>/python/<12 hex digits>`. */
export function versionSetPath(app: string, inputs: VersionSetInputs): string {
  const decisive: unknown[] = [inputs.pythonVersion, inputs.indexUrl ?? null, inputs.codeArtifact ?? null, inputs.packages, JUPYTER_PACKAGES];
  // Only with a lock file, so that the sets of apps without one keep their names.
  if (inputs.lockFile) decisive.push(inputs.lockFile.sha256);
  const digest = createHash('sha256')
    .update(JSON.stringify(decisive))
    .digest('hex')
    .slice(0, 12);
  return `${versionSetRoot(app)}/${digest}`;
}

/** A version set's text (`pip freeze`: `Name==version` a line) as a map of project to version. */
export function parseVersionSet(text: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$/.exec(line.trim());
    if (match) versions[match[1]] = match[2];
  }
  return versions;
}
