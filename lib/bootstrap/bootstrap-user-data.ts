import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Token } from 'aws-cdk-lib';
import { DASK_PORTS } from '../cluster/dask-ports';
import type { CodeArtifactRepository } from '../config/schema';
import { VERSION_SET_KINDS, VersionSetKind, versionSetPath } from '../machine/version-set';
import { COURSE_FOLDER, JUPYTER_PORT, JUPYTER_TOKEN_FILE, JUPYTER_URL_COMMAND, packagesWithJupyter } from '../machine/jupyter-lab';

/** Where the scripts and unit files that run on the machines live. */
export const USERDATA_DIR = path.join(__dirname, '..', '..', 'userdata');

/** EC2 accepts at most 16 KB of user data, before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * A generous length for a wait-condition handle's pre-signed URL, which is
 * only known at deploy time; used when checking the user-data size.
 */
export const SIGNAL_URL_ALLOWANCE = 1024;

/** The machine's part in the app, as in the `dasklab:role` tag. */
export type MachineRole = 'standalone' | 'scheduler' | 'worker' | 'student';

/** How a scheduler or worker machine runs Dask. */
export interface DaskServiceParameters {
  /** The scheduler's private IP address, known before any machine exists. */
  readonly schedulerHost: string;
  /** The worker's name in the cluster, e.g. `worker-1`; unused on the scheduler. */
  readonly name: string;
  /**
   * On the scheduler: how many workers it waits for before it reports ready,
   * named as {@link workerNames} names them.
   * @default 0
   */
  readonly expectedWorkerCount?: number;
  /**
   * Mutual TLS between the cluster's members and its clients. The scheduler
   * makes the certificate authority and the certificates; they travel only
   * through SecureString parameters under `parameterPath`.
   * @default - plain TCP
   */
  readonly tls?: DaskTlsParameters;
}

/** Where a cluster's TLS material is shared. */
export interface DaskTlsParameters {
  /** The SSM Parameter Store path (no trailing slash) of the cluster's certificates, e.g. `/dasklab/demo/cluster/tls`. */
  readonly parameterPath: string;
}

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
  /**
   * An AWS CodeArtifact repository for pip; the machine fetches a token with
   * its role at boot, so no secret is in the user data.
   * @default - none
   */
  readonly codeArtifact?: CodeArtifactRepository;
  /** Absolute path of the venv. */
  readonly venv: string;
  /**
   * The wait-condition handle's URL (a token at synth time).
   * @default - the bootstrap reports to nobody
   */
  readonly signalUrl?: string;
  /**
   * How long CloudFormation waits for the machine, in seconds; the scheduler
   * stops waiting for workers in time to report which are missing.
   * @default 1800
   */
  readonly readyTimeoutSeconds?: number;
  /**
   * An OpenSSH public key added to the login user's authorized keys (a lab's
   * trainer). A key that an earlier deploy added and this one no longer names
   * is removed.
   * @default - none (and none left from an earlier deploy)
   */
  readonly trainerPublicKey?: string;
  /**
   * Stop the machine after this many minutes without sessions and with the CPU near idle.
   * @default 0 (never)
   */
  readonly idleStopMinutes?: number;
  /**
   * Endpoint for the machine's own AWS API calls (tagging itself), e.g. a VPC
   * interface endpoint.
   * @default - AWS's public regional endpoints
   */
  readonly awsEndpointUrl?: string;
  /**
   * The machine is in an existing VPC: the network phase runs first, routes
   * what follows through the proxy, if any, and checks the way out.
   * @default - a VPC of the app's own: no network phase
   */
  readonly network?: BootstrapNetwork;
  /**
   * Dask service of a scheduler or worker.
   * @default - no Dask service (standalone and student machines)
   */
  readonly dask?: DaskServiceParameters;
  /**
   * The login user that owns the venv.
   * @default 'ubuntu'
   */
  readonly user?: string;
  /**
   * JupyterLab as a service of the login user, on loopback, with the course
   * folder as its root (lib/machine/jupyter-lab.ts); its packages join `packages`.
   * @default false
   */
  readonly jupyter?: boolean;
  /**
   * Course materials to unpack into the login user's course folder
   * (userdata/phases/materials.sh): where the zip is, never a credential.
   * @default - none
   */
  readonly materials?: MaterialsLocation;
  /**
   * The app's lock file (python.lockFile): pip installs exactly it, in
   * hash-checking mode, instead of `packages` under the app's version set.
   * @default - none
   */
  readonly lockFile?: LockFileLocation;
  /**
   * The bootstrap of an image build (lib/image/), with its `bake` command
   * (userdata/image-build.sh).
   * @default false
   */
  readonly imageBuild?: boolean;
}

/** Where a lab's course materials are: an object in the CDK's asset bucket (lib/lab/course-materials-asset.ts). */
export interface MaterialsLocation {
  /** The bucket's name (a token at synth time). */
  readonly bucket: string;
  /** The object's key, e.g. `<sha256>.zip`. */
  readonly key: string;
}

/** Where the app's lock file is: an object in the CDK's asset bucket (lib/machine/python-lock-asset.ts). */
export interface LockFileLocation {
  /** The bucket's name (a token at synth time). */
  readonly bucket: string;
  /** The object's key. */
  readonly key: string;
  /** sha256 of the file synth checked, hex: the machine installs nothing else. */
  readonly sha256: string;
}

/** How a machine in an existing VPC reaches out. */
export interface BootstrapNetwork {
  /**
   * The HTTP(S) proxy for apt, pip and AWS calls.
   * @default - none
   */
  readonly proxyUrl?: string;
  /** Hosts reached directly, never through the proxy (instance metadata, loopback, VPC endpoints). */
  readonly noProxy: readonly string[];
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
  const dask = params.dask;
  const phases = phasesOf(params);
  const lines = [
    assignment('DASKLAB_APP', params.app),
    assignment('DASKLAB_ROLE', params.role),
    assignment('DASKLAB_PHASES', phases),
    assignment('DASKLAB_PYTHON_VERSION', params.pythonVersion),
    assignment('DASKLAB_APT_PACKAGES', venvAptPackagesFor(params.pythonVersion)),
    assignment('DASKLAB_APT_TOOLS', [...APT_TOOLS]),
    assignment('DASKLAB_PIP_PACKAGES', pipPackagesOf(params)),
    assignment('DASKLAB_PIP_INDEX_URL', params.indexUrl ?? ''),
    assignment('DASKLAB_VENV', params.venv),
    assignment('DASKLAB_SIGNAL_URL', params.signalUrl ?? ''),
    assignment('DASKLAB_USER', params.user ?? 'ubuntu'),
    assignment('DASKLAB_AWS_ENDPOINT_URL', params.awsEndpointUrl ?? ''),
    assignment('DASKLAB_VERSION_SETS', versionSetNamesOf(params)),
    assignment('DASKLAB_VERSION_SET_OWN', String(VERSION_SET_KINDS.indexOf(versionSetKindOf(params)))),
  ];
  if (params.lockFile) {
    const { bucket, key, sha256 } = params.lockFile;
    lines.push(assignment('DASKLAB_PIP_LOCK_BUCKET', bucket), assignment('DASKLAB_PIP_LOCK_KEY', key), assignment('DASKLAB_PIP_LOCK_SHA256', sha256));
  }
  if (params.codeArtifact) {
    const { domain, repository, domainOwner, region } = params.codeArtifact;
    lines.push(
      assignment('DASKLAB_CODEARTIFACT_DOMAIN', domain),
      assignment('DASKLAB_CODEARTIFACT_REPOSITORY', repository),
      assignment('DASKLAB_CODEARTIFACT_DOMAIN_OWNER', domainOwner ?? ''),
      assignment('DASKLAB_CODEARTIFACT_REGION', region ?? ''),
    );
  }
  // Only the parameters of the phases this machine runs.
  if (phases.includes('network')) {
    lines.push(assignment('DASKLAB_PROXY_URL', params.network!.proxyUrl ?? ''), assignment('DASKLAB_NO_PROXY', params.network!.noProxy.join(',')));
  }
  if (phases.includes('trainer-key')) lines.push(assignment('DASKLAB_TRAINER_KEY', params.trainerPublicKey ?? ''));
  if (phases.includes('tls')) lines.push(assignment('DASKLAB_TLS_PARAMETER_PATH', tlsParameterPath(dask!.tls!)));
  if (phases.includes('dask')) {
    lines.push(
      assignment('DASKLAB_DASK_UNIT', daskUnitName(params)!),
      assignment('DASKLAB_SCHEDULER_ADDRESS', schedulerAddress(dask!.schedulerHost, !!dask!.tls)),
    );
  }
  if (phases.includes('cluster')) lines.push(assignment('DASKLAB_DASK_WORKER_COUNT', String(dask!.expectedWorkerCount ?? 0)));
  if (phases.includes('materials')) {
    lines.push(assignment('DASKLAB_MATERIALS_BUCKET', params.materials!.bucket), assignment('DASKLAB_MATERIALS_KEY', params.materials!.key));
  }
  // The phases that wait for other machines stop in time to report why.
  if (phases.includes('cluster') || phases.includes('tls')) {
    lines.push(assignment('DASKLAB_READY_TIMEOUT_SECONDS', String(params.readyTimeoutSeconds ?? 1800)));
  }
  return ['# >>> dasklab parameters', ...lines, '# <<< dasklab parameters'].join('\n');
}

/** What pip installs into the venv: the configured packages, and JupyterLab's where it runs. */
export function pipPackagesOf(params: BootstrapParameters): string[] {
  return params.jupyter ? packagesWithJupyter(params.packages) : [...params.packages];
}

/**
 * The app's version sets every machine reads, in the order the bootstrap
 * merges them (lib/machine/version-set.ts): the later kind wins.
 */
export function versionSetNamesOf(params: BootstrapParameters): string[] {
  const path = versionSetPath(params.app, params);
  return VERSION_SET_KINDS.map((kind) => `${path}/${kind}`);
}

/** Which kind of machine this is, for the version set it shares. */
export function versionSetKindOf(params: BootstrapParameters): VersionSetKind {
  return params.jupyter ? 'jupyter' : 'base';
}

/** What the apt phase installs: Python and its venv module, all that the venv and pip phases need. */
export function venvAptPackagesFor(pythonVersion: string): string[] {
  return [`python${pythonVersion}`, `python${pythonVersion}-venv`];
}

/**
 * What the apt-tools phase installs while the venv and pip phases run: pip for
 * the login user's own use, and boto3, with which the machine tags itself with
 * its bootstrap status.
 */
export const APT_TOOLS: readonly string[] = ['python3-pip', 'python3-boto3'];

/** Everything the bootstrap installs with apt. */
export function aptPackagesFor(pythonVersion: string): string[] {
  return [...venvAptPackagesFor(pythonVersion), ...APT_TOOLS];
}

/** The TLS parameter path, checked: absolute, no trailing slash (the names below it are `<path>/ca-cert`, ...). */
function tlsParameterPath(tls: DaskTlsParameters): string {
  const p = tls.parameterPath;
  if (!Token.isUnresolved(p) && !/^(\/[A-Za-z0-9_.-]+)+$/.test(p)) {
    throw new Error(`dask.tls.parameterPath must be an SSM parameter path like /dasklab/demo/cluster/tls, got ${JSON.stringify(p)}`);
  }
  return p;
}

/** The Dask scheduler's address for workers and clients. */
export function schedulerAddress(host: string, tls = false): string {
  return `${tls ? 'tls' : 'tcp'}://${host}:${DASK_PORTS.scheduler}`;
}

function daskUnitName(params: BootstrapParameters): string | undefined {
  if (!params.dask) return undefined;
  if (params.role === 'scheduler') return 'dask-scheduler';
  if (params.role === 'worker') return 'dask-worker';
  throw new Error(`a ${params.role} machine runs no Dask service`);
}

/** The systemd unit of the role's Dask service, with its settings filled in. */
export function renderDaskUnit(params: BootstrapParameters): string {
  const unit = daskUnitName(params);
  if (!unit || !params.dask) return '';
  const values: Record<string, string> = {
    USER: params.user ?? 'ubuntu',
    VENV: params.venv,
    NAME: params.dask.name,
    SCHEDULER_PORT: String(DASK_PORTS.scheduler),
    DASHBOARD_PORT: String(DASK_PORTS.dashboard),
    WORKER_PORT: String(DASK_PORTS.worker),
    NANNY_PORT: String(DASK_PORTS.nanny),
    PROTOCOL: params.dask.tls ? 'tls' : 'tcp',
  };
  return fillPlaceholders(`${unit}.service`, readUserdataFile(`${unit}.service`), values);
}

/**
 * `text` (of `file` in userdata/) with each `@NAME@` replaced by `values[NAME]`;
 * an unknown name is an error, not a line the machine would run half-filled.
 * The renderer's own `# @@MARKER@@` lines are left alone.
 */
export function fillPlaceholders(file: string, text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/(?<!@)@([A-Z_]+)@(?!@)/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`userdata/${file}: unknown placeholder ${match}`);
    return value;
  });
}

/** Fills in the `@NAME@` placeholders of a file in userdata/ with JupyterLab's settings. */
function withJupyterSettings(file: string, text: string, params: BootstrapParameters): string {
  const values: Record<string, string> = {
    USER: params.user ?? 'ubuntu',
    VENV: params.venv,
    PORT: String(JUPYTER_PORT),
    ROOT: COURSE_FOLDER,
    TOKEN_FILE: JUPYTER_TOKEN_FILE,
    URL_COMMAND: JUPYTER_URL_COMMAND,
  };
  return fillPlaceholders(file, text, values);
}

/** JupyterLab's systemd unit, with its settings filled in; its comments stay in the repository. */
export function renderJupyterUnit(params: BootstrapParameters): string {
  return withJupyterSettings('jupyterlab.service', stripComments(readUserdataFile('jupyterlab.service')), params);
}

/** Phases that only some machines run; each lives in `userdata/phases/<name>.sh`. */
const OPTIONAL_PHASES = ['network', 'trainer-key', 'materials', 'tls', 'dask', 'jupyter', 'cluster', 'idle'];

/**
 * The bootstrap's phases for a machine, in order. Optional phases are
 * embedded only where they run, which keeps user data small.
 */
export function phasesOf(params: BootstrapParameters): string[] {
  return [
    ...(params.network ? ['network'] : []),
    'apt',
    // In the background, until verify (userdata/bootstrap.sh, BACKGROUND_PHASES).
    'apt-tools',
    'venv',
    'pip',
    'profile',
    // On every machine: with no trainer key it withdraws one that an earlier deploy installed.
    'trainer-key',
    'verify',
    // Before JupyterLab starts with the course folder as its root.
    ...(params.materials ? ['materials'] : []),
    ...(params.dask?.tls ? ['tls'] : []),
    ...(params.dask ? ['dask'] : []),
    // While a scheduler's workers are still joining.
    ...(params.jupyter ? ['jupyter'] : []),
    ...(params.dask && params.role === 'scheduler' ? ['cluster'] : []),
    ...((params.idleStopMinutes ?? 0) > 0 ? ['idle'] : []),
  ];
}

/**
 * The files in userdata/ of an optional phase: `phases/<name>.sh`, and for
 * TLS the part only this role runs (the scheduler makes the certificates,
 * workers fetch them), so neither carries the other's code.
 */
export function phaseFilesOf(phase: string, role: MachineRole): string[] {
  const files = [`phases/${phase}.sh`];
  if (phase === 'tls') files.push(`phases/tls-${role === 'scheduler' ? 'scheduler' : 'worker'}.sh`);
  return files;
}

function readUserdataFile(name: string): string {
  return fs.readFileSync(path.join(USERDATA_DIR, name), 'utf8');
}

/**
 * Drops the script's comment-only lines and blank lines, which would spend
 * EC2's 16 KB of user data on text the machine does not need; the commented
 * source stays in the repository. Keeps the shebang, markers and shellcheck
 * directives.
 */
export function stripComments(script: string): string {
  const lines = script.split('\n');
  // A shebang is a comment to bash, but the kernel reads it from the first line.
  const shebang = lines[0].startsWith('#!') ? [lines.shift()!] : [];
  const kept = lines.filter((line) => {
    const trimmed = line.trim();
    if (trimmed === '') return false;
    if (!trimmed.startsWith('#')) return true;
    return trimmed.startsWith('# @@') || trimmed.startsWith('# shellcheck');
  });
  return [...shebang, ...kept].join('\n') + '\n';
}

/**
 * Drops the leading whitespace of a bash script's lines, outside
 * here-documents (whose Python needs its indentation): bash reads no meaning
 * into it, and it is 0.2 KB of the largest machine's compressed user data.
 * The scripts carry no quoted string across lines, which this would change
 * (tests/unit/bootstrap-user-data.test.ts compares every function before and
 * after, as bash parses them).
 */
export function dropIndentation(script: string): string {
  let hereDocEnd: string | undefined;
  return script
    .split('\n')
    .map((line) => {
      if (hereDocEnd !== undefined) {
        if (line === hereDocEnd) hereDocEnd = undefined;
        return line;
      }
      const start = /<<-?\s*'?([A-Za-z_]+)'?/.exec(line.replace(/<<</g, ''));
      if (start) hereDocEnd = start[1];
      return line.trimStart();
    })
    .join('\n');
}

/** A bash script as it travels in user data: without comments and indentation. */
export function compactBash(script: string): string {
  return dropIndentation(stripComments(script)).replace(/^# shellcheck shell=bash\n/gm, '');
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
 * The bootstrap as the machine runs it: the parameters, then the script with
 * its optional phases and unit files filled in, comments dropped. Readable;
 * {@link renderBootstrap} is what goes into user data.
 */
export function renderBootstrapSource(params: BootstrapParameters): { parameters: string; body: string } {
  const [shebang, ...rest] = compactBash(readUserdataFile('bootstrap.sh')).split('\n');
  if (shebang !== '#!/bin/bash') throw new Error('userdata/bootstrap.sh must start with #!/bin/bash');
  let body = rest.join('\n');
  const optional = phasesOf(params).filter((phase) => OPTIONAL_PHASES.includes(phase));
  body = replaceMarker(
    body,
    'PHASES',
    optional
      .flatMap((phase) => phaseFilesOf(phase, params.role))
      .map((file) => {
        const text = compactBash(readUserdataFile(file));
        return file === 'phases/jupyter.sh' || file === 'phases/materials.sh' ? withJupyterSettings(file, text, params) : text;
      })
      .join('\n'),
  );
  body = replaceMarker(body, 'IMAGE_BUILD', params.imageBuild ? compactBash(readUserdataFile('image-build.sh')) : '');
  body = replaceMarker(body, 'BOOTSTRAP_UNIT', stripComments(readUserdataFile('dasklab-bootstrap.service')));
  body = replaceMarker(body, 'CODEARTIFACT', params.codeArtifact ? compactBash(readUserdataFile('codeartifact.sh')) : '');
  body = replaceMarker(body, 'PIP_LOCK', params.lockFile ? compactBash(readUserdataFile('pip-lock.sh')) : '');
  if (optional.includes('dask')) {
    body = replaceMarker(body, 'DASK_UNIT', renderDaskUnit(params));
  }
  if (optional.includes('jupyter')) {
    body = replaceMarker(body, 'JUPYTER_UNIT', renderJupyterUnit(params));
    body = replaceMarker(body, 'JUPYTER_CHECK_SERVICE', stripComments(readUserdataFile('dasklab-jupyter-check.service')));
    body = replaceMarker(body, 'JUPYTER_CHECK_TIMER', readUserdataFile('dasklab-jupyter-check.timer'));
  }
  if (optional.includes('idle')) {
    body = replaceMarker(body, 'IDLE_CHECK', compactBash(readUserdataFile('dasklab-idle-check.sh')));
    body = replaceMarker(
      body,
      'IDLE_SERVICE',
      readUserdataFile('dasklab-idle.service').replace('@IDLE_MINUTES@', String(params.idleStopMinutes)),
    );
    body = replaceMarker(body, 'IDLE_TIMER', readUserdataFile('dasklab-idle.timer'));
  }
  // Everything deploy-time (tokens) lives in the parameters, so the body can be compressed.
  if (Token.isUnresolved(body)) {
    throw new Error('the bootstrap body holds a deploy-time value; pass it as a parameter');
  }
  return { parameters: renderParameters(params), body };
}

/** Marks the compressed body in user data. */
export const BODY_DELIMITER = 'DASKLAB_BOOTSTRAP';

/** The alphabet of RFC 1924's base85, as Python's `base64.b85encode` uses it. */
const BASE85_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~';

/**
 * Encodes bytes as Python's `base64.b85encode` does: 5 characters per 4 bytes
 * (base64 takes 5.33), none of them a quote or a backslash. Written here
 * because Node has no base85 and the encoder is a dozen lines.
 */
export function base85Encode(data: Buffer): string {
  const padding = (4 - (data.length % 4)) % 4;
  const padded = Buffer.concat([data, Buffer.alloc(padding)]);
  let encoded = '';
  for (let offset = 0; offset < padded.length; offset += 4) {
    let value = padded.readUInt32BE(offset);
    const group: string[] = [];
    for (let i = 0; i < 5; i++) {
      group.unshift(BASE85_ALPHABET[value % 85]);
      value = Math.floor(value / 85);
    }
    encoded += group.join('');
  }
  return encoded.slice(0, encoded.length - padding);
}

/** Decodes what {@link base85Encode} (or Python's `base64.b85encode`) made. */
export function base85Decode(text: string): Buffer {
  const padding = (5 - (text.length % 5)) % 5;
  const padded = text + '~'.repeat(padding);
  const bytes = Buffer.alloc((padded.length / 5) * 4);
  for (let offset = 0; offset < padded.length; offset += 5) {
    let value = 0;
    for (const char of padded.slice(offset, offset + 5)) {
      const digit = BASE85_ALPHABET.indexOf(char);
      if (digit < 0) throw new Error(`not base85: ${JSON.stringify(char)}`);
      value = value * 85 + digit;
    }
    bytes.writeUInt32BE(value, (offset / 5) * 4);
  }
  return bytes.subarray(0, bytes.length - padding);
}

/**
 * How a body travels: compressed, then base85-encoded (5 characters per 4
 * bytes, base64 takes 5.33; none of them a quote or a backslash). Each is
 * decoded at boot by python3, which is on every machine that runs user data
 * (cloud-init is a Python program), with its standard library only.
 */
interface BodyCodec {
  readonly decoder: string;
  encode(body: string): Buffer;
  decode(data: Buffer): string;
}

/** Deflate at level 9: Node's own, a few milliseconds. */
const DEFLATE: BodyCodec = {
  decoder: "python3 -c 'import base64,sys,zlib;sys.stdout.buffer.write(zlib.decompress(base64.b85decode(sys.stdin.read().strip())))'",
  encode: (body) => zlib.deflateSync(Buffer.from(body), { level: 9 }),
  decode: (data) => zlib.inflateSync(data).toString('utf8'),
};

/**
 * LZMA-JS (the `lzma` package): LZMA in plain JavaScript, whose `.lzma`
 * output Python's `lzma.decompress` reads (Node has only deflate and brotli,
 * and Python's standard library has no brotli). About 4% smaller than deflate
 * on the largest body (10,430 against 10,836 bytes), but some 300 ms a body
 * against deflate's 4: it is used only where deflate's result does not fit.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lzma: { compress(data: Uint8Array, mode: number): number[]; decompress(data: Uint8Array): string | number[] } = require('lzma');
const LZMA: BodyCodec = {
  decoder: "python3 -c 'import base64,lzma,sys;sys.stdout.buffer.write(lzma.decompress(base64.b85decode(sys.stdin.read().strip())))'",
  encode: (body) => Buffer.from(lzma.compress(Buffer.from(body), 9)),
  decode: (data) => {
    const text = lzma.decompress(data);
    return typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  },
};

/** Encoded bodies by codec and text: the machines of a kind share one body. */
const encodedBodies = new Map<BodyCodec, Map<string, string>>([[DEFLATE, new Map()], [LZMA, new Map()]]);

function encodeBody(codec: BodyCodec, body: string): string {
  const cache = encodedBodies.get(codec)!;
  let encoded = cache.get(body);
  if (encoded === undefined) {
    encoded = base85Encode(codec.encode(body));
    cache.set(body, encoded);
  }
  return encoded;
}

/**
 * Renders a machine's user data: a bash script whose parameters stay plain
 * text (they hold the deploy-time values, and are what a reader looks for)
 * and whose body is compressed and base85-encoded, decoded at boot. This keeps
 * the largest machines (a TLS scheduler with JupyterLab in an existing network
 * with a proxy) within EC2's 16 KB of user data; base85 instead of base64
 * alone saves about 0.9 KB there.
 */
export function renderBootstrap(params: BootstrapParameters): string {
  const script = renderUserDataScript(params);
  const size = userDataSize(script, params.signalUrl);
  if (size > USER_DATA_LIMIT_BYTES) {
    const parts = userDataParts(params)
      .map(({ field, bytes }) => `${field} (${bytes} bytes)`)
      .join(', ');
    throw new Error(
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html
      `the rendered user data is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}. ` +
        `This ${params.role} machine's user data holds, beyond the bootstrap itself: ${parts || 'nothing optional'}. ` +
        'Shorten python.packages or leave out one of the others.',
    );
  }
  return script;
}

/** The user data with the body deflated, or with LZMA where that is too large. */
function renderUserDataScript(params: BootstrapParameters): string {
  const deflated = userDataScript(params, DEFLATE);
  return userDataSize(deflated, params.signalUrl) <= USER_DATA_LIMIT_BYTES ? deflated : userDataScript(params, LZMA);
}

function userDataScript(params: BootstrapParameters, codec: BodyCodec): string {
  const { parameters, body } = renderBootstrapSource(params);
  return [
    '#!/bin/bash',
    '# shellcheck disable=SC2034 # the parameters are read by the compressed body',
    parameters,
    '# The dasklab bootstrap (userdata/bootstrap.sh), compressed to fit in user data.',
    '# shellcheck source=/dev/null',
    `source <(${codec.decoder} <<'${BODY_DELIMITER}'`,
    encodeBody(codec, body),
    BODY_DELIMITER,
    ')',
    '',
  ].join('\n');
}

/**
 * The config's optional parts in a machine's user data, each with the bytes
 * leaving it out would save, largest first: what a user can change when the
 * user data is too large.
 */
export function userDataParts(params: BootstrapParameters): Array<{ field: string; bytes: number }> {
  const without: Array<[string, boolean, BootstrapParameters]> = [
    ['python.packages', params.packages.length > 0, { ...params, packages: [] }],
    ['python.indexUrl', params.indexUrl !== undefined, { ...params, indexUrl: undefined }],
    ['python.codeArtifact', params.codeArtifact !== undefined, { ...params, codeArtifact: undefined }],
    ['python.lockFile', params.lockFile !== undefined, { ...params, lockFile: undefined }],
    ['network', params.network !== undefined, { ...params, network: undefined }],
    ['cluster.jupyter or lab.jupyter', params.jupyter === true, { ...params, jupyter: false }],
    ['cluster.tls', params.dask?.tls !== undefined, { ...params, dask: params.dask && { ...params.dask, tls: undefined } }],
    ['lab.idleStopMinutes', (params.idleStopMinutes ?? 0) > 0, { ...params, idleStopMinutes: 0 }],
    ['lab.trainerPublicKey', params.trainerPublicKey !== undefined, { ...params, trainerPublicKey: undefined }],
  ];
  const size = userDataSize(renderUserDataScript(params), params.signalUrl);
  return without
    .filter(([, present]) => present)
    .map(([field, , rest]) => ({ field, bytes: size - userDataSize(renderUserDataScript(rest), rest.signalUrl) }))
    .sort((a, b) => b.bytes - a.bytes);
}

/** The bootstrap body inside rendered user data, decompressed. */
export function decodeBootstrapBody(userData: string): string {
  const match = new RegExp(`<<'${BODY_DELIMITER}'\n(.+)\n${BODY_DELIMITER}\n`).exec(userData);
  if (!match) throw new Error('no compressed bootstrap body in this user data');
  const codec = userData.includes(LZMA.decoder) ? LZMA : DEFLATE;
  return codec.decode(base85Decode(match[1]));
}

/** A generous length for any other token in user data (an IP address, a region). */
export const TOKEN_ALLOWANCE = 64;

/**
 * Size in bytes of rendered user data, once deployed: the signal URL (a token
 * at synth time) counted as {@link SIGNAL_URL_ALLOWANCE} bytes, any other
 * token as {@link TOKEN_ALLOWANCE}.
 */
export function userDataSize(script: string, signalUrl?: string): number {
  let sized = signalUrl && Token.isUnresolved(signalUrl) ? script.split(signalUrl).join('x'.repeat(SIGNAL_URL_ALLOWANCE)) : script;
  sized = sized.replace(/\$\{Token\[[^\]]+\]\}/g, 'x'.repeat(TOKEN_ALLOWANCE));
  if (Token.isUnresolved(sized)) {
    throw new Error('user data holds a token that cannot be sized');
  }
  return Buffer.byteLength(sized, 'utf8');
}
