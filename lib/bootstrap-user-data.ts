import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';

/** Where the scripts and unit files that run on the machines live. */
export const USERDATA_DIR = path.join(__dirname, '..', 'userdata');

/** EC2 accepts at most 16 KB of user data, before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * A generous length for a wait-condition handle's pre-signed URL, which is
 * only known at deploy time; used when checking the user-data size.
 */
export const SIGNAL_URL_ALLOWANCE = 1024;

/** The machine's part in the app, as in the `dasklab:role` tag. */
export type MachineRole = 'standalone' | 'scheduler' | 'worker' | 'student';

/** Everything the bootstrap needs to know about its machine. */
export interface BootstrapParameters {
  /** The app's name (config `name`). */
  readonly app: string;
  /** The machine's role. */
  readonly role: MachineRole;
  /** Python version to install from apt, as `3.N`. */
  readonly pythonVersion: string;
  /** pip requirement specs installed into the venv. */
  readonly packages: readonly string[];
  /**
   * PEP 503 index for pip.
   * @default - pip's default index
   */
  readonly indexUrl?: string;
  /** Absolute path of the venv. */
  readonly venv: string;
  /**
   * The wait-condition handle's URL (a token at synth time).
   * @default - the bootstrap reports to nobody
   */
  readonly signalUrl?: string;
  /**
   * The login user that owns the venv.
   * @default 'ubuntu'
   */
  readonly user?: string;
}

/** Quotes a string for bash so that it is taken literally. Tokens pass through. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function assignment(name: string, value: string | readonly string[]): string {
  return typeof value === 'string'
    ? `${name}=${shellQuote(value)}`
    : `${name}=(${value.map(shellQuote).join(' ')})`;
}

/** The parameter block, delimited so tools (and people) can find it. */
export function renderParameters(params: BootstrapParameters): string {
  const lines = [
    assignment('DASKLAB_APP', params.app),
    assignment('DASKLAB_ROLE', params.role),
    assignment('DASKLAB_PYTHON_VERSION', params.pythonVersion),
    assignment('DASKLAB_PIP_PACKAGES', params.packages),
    assignment('DASKLAB_PIP_INDEX_URL', params.indexUrl ?? ''),
    assignment('DASKLAB_VENV', params.venv),
    assignment('DASKLAB_SIGNAL_URL', params.signalUrl ?? ''),
    assignment('DASKLAB_USER', params.user ?? 'ubuntu'),
  ];
  return ['# >>> dasklab parameters', ...lines, '# <<< dasklab parameters'].join('\n');
}

function readUserdataFile(name: string): string {
  return fs.readFileSync(path.join(USERDATA_DIR, name), 'utf8');
}

function replaceMarker(script: string, marker: string, content: string): string {
  const line = `# @@${marker}@@`;
  if (!script.includes(line)) {
    throw new Error(`userdata/bootstrap.sh has no "${line}" line`);
  }
  // A function replacement keeps `$` sequences in the content literal.
  return script.replace(line, () => content.trimEnd());
}

/**
 * Renders the bootstrap script with its parameters, ready to be a machine's
 * user data. The result may contain tokens (the signal URL).
 */
export function renderBootstrap(params: BootstrapParameters): string {
  let script = readUserdataFile('bootstrap.sh');
  script = replaceMarker(script, 'PARAMETERS', renderParameters(params));
  script = replaceMarker(script, 'BOOTSTRAP_UNIT', readUserdataFile('dasklab-bootstrap.service'));
  const size = userDataSize(script);
  if (size > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `the rendered user data is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}. ` +
        'Shorten python.packages or the bootstrap.',
    );
  }
  return script;
}

/** Size in bytes of rendered user data, counting each token as a long URL. */
export function userDataSize(script: string): number {
  const withoutTokens = script.replace(/\$\{Token\[[^\]]+\]\}/g, 'x'.repeat(SIGNAL_URL_ALLOWANCE));
  if (Token.isUnresolved(withoutTokens)) {
    throw new Error('user data holds a token that cannot be sized');
  }
  return Buffer.byteLength(withoutTokens, 'utf8');
}
