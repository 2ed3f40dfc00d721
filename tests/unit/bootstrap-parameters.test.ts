/**
 * The parameter block of user data, exactly: what bash reads from it for each
 * kind of machine, and that the bootstrap reads no parameter its machine's
 * block leaves out. Direct, without a CDK app, so that each check runs in
 * milliseconds (these tests hold `lib/bootstrap/bootstrap-user-data.ts` under
 * mutation testing).
 */
import { execFileSync } from 'child_process';
import type * as fs from 'fs';
import {
  aptPackagesFor,
  BootstrapParameters,
  fillPlaceholders,
  phaseFilesOf,
  phasesOf,
  pipPackagesOf,
  renderBootstrapSource,
  renderDaskUnit,
  renderJupyterUnit,
  renderParameters,
  schedulerAddress,
  venvAptPackagesFor,
  versionSetKindOf,
  versionSetNamesOf,
} from '../../lib/bootstrap/bootstrap-user-data';
import { packagesWithJupyter } from '../../lib/machine/jupyter-lab';
import { versionSetPath } from '../../lib/machine/version-set';

const STANDALONE: BootstrapParameters = {
  app: 'demo',
  role: 'standalone',
  pythonVersion: '3.12',
  packages: ['numpy', 'dask[complete]'],
  venv: '/opt/dask/venv',
};

/** A scheduler with every option the parameters carry. */
const EVERYTHING: BootstrapParameters = {
  app: 'demo',
  role: 'scheduler',
  pythonVersion: '3.13',
  packages: ['numpy==2.1.0', 'dask[complete]'],
  indexUrl: 'https://pypi.example/simple',
  codeArtifact: { domain: 'dom', repository: 'repo', domainOwner: '123456789012', region: 'eu-west-1' },
  venv: '/srv/venv',
  signalUrl: "https://signal.example/x?a=1&b='2'",
  readyTimeoutSeconds: 900,
  trainerPublicKey: 'ssh-ed25519 AAAAC3Nza trainer@example',
  idleStopMinutes: 30,
  awsEndpointUrl: 'https://vpce.example',
  network: { proxyUrl: 'http://proxy.example:3128', noProxy: ['169.254.169.254', 'localhost', '.amazonaws.com'] },
  dask: { schedulerHost: '10.0.0.10', name: 'scheduler', expectedWorkerCount: 3, tls: { parameterPath: '/dasklab/demo/cluster/tls' } },
  user: 'student',
  jupyter: true,
  materials: { bucket: 'assets-bucket', key: 'abc.zip' },
  lockFile: { bucket: 'lock-bucket', key: 'lock.txt', sha256: 'ab'.repeat(32) },
};

/** Every DASKLAB_ variable bash has after evaluating the block: a string, or a list for arrays. */
function evaluated(params: BootstrapParameters): Record<string, string | string[]> {
  const script = [
    renderParameters(params),
    'for name in "${!DASKLAB_@}"; do',
    '  declare -n value="$name"',
    '  if [[ "$(declare -p "$name")" == "declare -a"* ]]; then kind=list; else kind=string; fi',
    "  printf '%s\\x1f%s' \"$name\" \"$kind\"; printf '\\x1f%s' \"${value[@]}\"; printf '\\x1e'",
    '  unset -n value',
    'done',
  ].join('\n');
  // Without the test's environment, so that only the block's variables are seen.
  // --norc: with no SHLVL and a socket for stdin, bash takes itself for a remote shell and reads ~/.bashrc.
  const out = execFileSync('bash', ['--norc', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  const vars: Record<string, string | string[]> = {};
  for (const record of out.split('\x1e').filter(Boolean)) {
    const [name, kind, ...values] = record.split('\x1f');
    vars[name] = kind === 'list' ? values : values.join('');
  }
  return vars;
}

const versionSets = (params: BootstrapParameters) => [`${versionSetPath(params.app, params)}/jupyter`, `${versionSetPath(params.app, params)}/base`];

describe('the parameter block, as bash reads it', () => {
  test('a standalone machine with the defaults: the base parameters only, every default spelled out', () => {
    // GIVEN a standalone machine with nothing optional
    // WHEN bash evaluates its parameter block
    // THEN it has exactly these variables
    expect(evaluated(STANDALONE)).toEqual({
      DASKLAB_APP: 'demo',
      DASKLAB_ROLE: 'standalone',
      DASKLAB_PHASES: ['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify'],
      DASKLAB_PYTHON_VERSION: '3.12',
      DASKLAB_APT_PACKAGES: ['python3.12', 'python3.12-venv'],
      DASKLAB_APT_TOOLS: ['python3-pip', 'python3-boto3'],
      DASKLAB_PIP_PACKAGES: ['numpy', 'dask[complete]'],
      DASKLAB_PIP_INDEX_URL: '',
      DASKLAB_VENV: '/opt/dask/venv',
      DASKLAB_SIGNAL_URL: '',
      DASKLAB_USER: 'ubuntu',
      DASKLAB_AWS_ENDPOINT_URL: '',
      DASKLAB_VERSION_SETS: versionSets(STANDALONE),
      DASKLAB_VERSION_SET_OWN: '1',
      // The trainer-key phase runs everywhere: with no key it withdraws an earlier one.
      DASKLAB_TRAINER_KEY: '',
    });
  });

  test('a scheduler with every option: each value as given, each phase\'s parameters present', () => {
    // GIVEN a TLS scheduler with JupyterLab, materials, a lock file, CodeArtifact, a proxy and idle stop
    // WHEN bash evaluates its parameter block
    // THEN every value arrives exactly, quotes and ampersands included
    expect(evaluated(EVERYTHING)).toEqual({
      DASKLAB_APP: 'demo',
      DASKLAB_ROLE: 'scheduler',
      DASKLAB_PHASES: ['network', 'apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'materials', 'tls', 'dask', 'jupyter', 'cluster', 'idle'],
      DASKLAB_PYTHON_VERSION: '3.13',
      DASKLAB_APT_PACKAGES: ['python3.13', 'python3.13-venv'],
      DASKLAB_APT_TOOLS: ['python3-pip', 'python3-boto3'],
      DASKLAB_PIP_PACKAGES: packagesWithJupyter(['numpy==2.1.0', 'dask[complete]']),
      DASKLAB_PIP_INDEX_URL: 'https://pypi.example/simple',
      DASKLAB_VENV: '/srv/venv',
      DASKLAB_SIGNAL_URL: "https://signal.example/x?a=1&b='2'",
      DASKLAB_USER: 'student',
      DASKLAB_AWS_ENDPOINT_URL: 'https://vpce.example',
      DASKLAB_VERSION_SETS: versionSets(EVERYTHING),
      DASKLAB_VERSION_SET_OWN: '0',
      DASKLAB_PIP_LOCK_BUCKET: 'lock-bucket',
      DASKLAB_PIP_LOCK_KEY: 'lock.txt',
      DASKLAB_PIP_LOCK_SHA256: 'ab'.repeat(32),
      DASKLAB_CODEARTIFACT_DOMAIN: 'dom',
      DASKLAB_CODEARTIFACT_REPOSITORY: 'repo',
      DASKLAB_CODEARTIFACT_DOMAIN_OWNER: '123456789012',
      DASKLAB_CODEARTIFACT_REGION: 'eu-west-1',
      DASKLAB_PROXY_URL: 'http://proxy.example:3128',
      DASKLAB_NO_PROXY: '169.254.169.254,localhost,.amazonaws.com',
      DASKLAB_TRAINER_KEY: 'ssh-ed25519 AAAAC3Nza trainer@example',
      DASKLAB_TLS_PARAMETER_PATH: '/dasklab/demo/cluster/tls',
      DASKLAB_DASK_UNIT: 'dask-scheduler',
      DASKLAB_SCHEDULER_ADDRESS: 'tls://10.0.0.10:8786',
      DASKLAB_DASK_WORKER_COUNT: '3',
      DASKLAB_MATERIALS_BUCKET: 'assets-bucket',
      DASKLAB_MATERIALS_KEY: 'abc.zip',
      DASKLAB_READY_TIMEOUT_SECONDS: '900',
    });
  });

  test('CodeArtifact without an owner or region (null in the config): both empty, so the machine uses its own account and region', () => {
    // GIVEN CodeArtifact named by domain and repository only
    const vars = evaluated({ ...STANDALONE, codeArtifact: { domain: 'dom', repository: 'repo', domainOwner: null, region: null } });
    // THEN the owner and region are present and empty
    expect(vars.DASKLAB_CODEARTIFACT_DOMAIN_OWNER).toBe('');
    expect(vars.DASKLAB_CODEARTIFACT_REGION).toBe('');
  });

  test('a network without a proxy: the proxy is empty and the exceptions still listed', () => {
    const vars = evaluated({ ...STANDALONE, network: { noProxy: ['169.254.169.254', 'localhost'] } });
    expect(vars.DASKLAB_PROXY_URL).toBe('');
    expect(vars.DASKLAB_NO_PROXY).toBe('169.254.169.254,localhost');
    expect(vars.DASKLAB_PHASES).toEqual(['network', 'apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify']);
  });

  test('a worker: its unit, a plain tcp:// address without TLS, and neither the worker count nor a timeout to wait for others', () => {
    // GIVEN a worker of a cluster without TLS
    const vars = evaluated({ ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.1.5', name: 'worker-2' } });
    // THEN it runs dask-worker against the scheduler's tcp address, and waits for no one
    expect(vars.DASKLAB_DASK_UNIT).toBe('dask-worker');
    expect(vars.DASKLAB_SCHEDULER_ADDRESS).toBe('tcp://10.0.1.5:8786');
    expect(vars.DASKLAB_PHASES).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'dask']);
    expect(vars).not.toHaveProperty('DASKLAB_DASK_WORKER_COUNT');
    expect(vars).not.toHaveProperty('DASKLAB_READY_TIMEOUT_SECONDS');
    expect(vars).not.toHaveProperty('DASKLAB_TLS_PARAMETER_PATH');
  });

  test('a TLS worker waits for the scheduler\'s certificates, for 1800 s unless told otherwise', () => {
    const vars = evaluated({ ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.1.5', name: 'worker-1', tls: { parameterPath: '/p/tls' } } });
    expect(vars.DASKLAB_SCHEDULER_ADDRESS).toBe('tls://10.0.1.5:8786');
    expect(vars.DASKLAB_TLS_PARAMETER_PATH).toBe('/p/tls');
    expect(vars.DASKLAB_READY_TIMEOUT_SECONDS).toBe('1800');
    expect(vars).not.toHaveProperty('DASKLAB_DASK_WORKER_COUNT');
  });

  test('a scheduler without a worker count waits for none, for 1800 s unless told otherwise', () => {
    const vars = evaluated({ ...STANDALONE, role: 'scheduler', dask: { schedulerHost: '10.0.0.4', name: 'scheduler' } });
    expect(vars.DASKLAB_DASK_WORKER_COUNT).toBe('0');
    expect(vars.DASKLAB_READY_TIMEOUT_SECONDS).toBe('1800');
    expect(vars.DASKLAB_PHASES).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'dask', 'cluster']);
  });
});

describe('phases', () => {
  test('a student with JupyterLab, materials and idle stop: no Dask phases, JupyterLab after the materials it serves', () => {
    const phases = phasesOf({ ...STANDALONE, role: 'student', jupyter: true, materials: { bucket: 'b', key: 'k.zip' }, idleStopMinutes: 1 });
    expect(phases).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'materials', 'jupyter', 'idle']);
  });

  test('idle stop of 0 minutes is no idle phase', () => {
    expect(phasesOf({ ...STANDALONE, idleStopMinutes: 0 })).not.toContain('idle');
  });

  test('a machine that is not a scheduler waits for no workers, even with Dask', () => {
    expect(phasesOf({ ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.0.4', name: 'w' } })).not.toContain('cluster');
  });
});

/**
 * The DASKLAB_ variables a rendered bootstrap body reads, as bash would run it
 * with `set -u` and the machine's parameters `set`:
 * - text bash does not expand is left out: quoted here-documents (the files
 *   and programs the bootstrap writes, such as the idle check that systemd
 *   gives its own environment);
 * - a block behind `if [[ -n "${X:-}" ]]` for an unset X is never run;
 * - a read with a default (`${X:-...}`, `${X-...}`, `${X:+...}`) is safe;
 * - a function's reads count only if something that runs calls it, the
 *   machine's phases (`phase_<name>`, which the main loop calls by name) among them;
 * - every other mention of the name is a read, arithmetic included, except
 *   an assignment at the start of a statement.
 */
function requiredReads(body: string, set: ReadonlySet<string>, phases: readonly string[] = []): Set<string> {
  let text = body.replace(/<<-?'(\w+)'[^\n]*\n[\s\S]*?\n\1(?=\n|$)/g, '');
  text = text.replace(/^if \[\[ -n "\$\{(DASKLAB_\w+):-\}" \]\]; then\n[\s\S]*?\nfi$/gm, (block, name: string) => (set.has(name) ? block : ''));
  text = text.replace(/\$\{DASKLAB_\w+:?[-+][^}]*\}/g, '');
  // Functions: `name() {` up to the first line that is `}` alone (the body's lines are not indented).
  const functions = new Map<string, string>();
  text = text.replace(/^(\w+)\(\) \{\n([\s\S]*?)\n\}$/gm, (_definition, name: string, code: string) => {
    functions.set(name, code);
    return '';
  });
  const reached = [text, ...phases.map((phase) => `phase_${phase.replace(/-/g, '_')}`)];
  const called = new Set<string>();
  for (let i = 0; i < reached.length; i++) {
    for (const [name, code] of functions) {
      if (!called.has(name) && new RegExp(`\\b${name}\\b`).test(reached[i])) {
        called.add(name);
        reached.push(code);
      }
    }
  }
  const reads = new Set<string>();
  for (const code of reached) {
    for (const m of code.matchAll(/(^|[\s;(]|(?:export|readonly|local|declare(?: -\w+)*) )?\b(DASKLAB_[A-Z0-9_]+)\b/gm)) {
      const assignment = m[1] !== undefined && /^(\[[^\]]*\])?\+?=/.test(code.slice(m.index + m[0].length));
      if (!assignment) reads.add(m[2]);
    }
  }
  return reads;
}

/** The DASKLAB_ variables the body assigns at the start of a statement (`X=`, `export X=`, `local X=`). */
function assignedIn(body: string): Set<string> {
  return new Set([...body.matchAll(/(?:^|[;(]\s*)(?:(?:export|readonly|local|declare(?: -\w+)*) )?(DASKLAB_[A-Z0-9_]+)(?:\[[^\]]*\])?\+?=/gm)].map((m) => m[1]));
}

describe('the phases embedded in a machine\'s bootstrap', () => {
  const OPTIONAL = ['network', 'trainer-key', 'materials', 'tls', 'dask', 'jupyter', 'cluster', 'idle'];
  test.each<[string, BootstrapParameters]>([
    ['the standalone machine', STANDALONE],
    ['a scheduler with every option', EVERYTHING],
    ['a TLS worker', { ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.1.5', name: 'worker-1', tls: { parameterPath: '/p/tls' } } }],
    ['a student with JupyterLab, materials and idle stop', { ...STANDALONE, role: 'student', jupyter: true, materials: { bucket: 'b', key: 'k.zip' }, idleStopMinutes: 20 }],
    ['a machine behind a proxy', { ...STANDALONE, network: { proxyUrl: 'http://10.0.0.9:3128', noProxy: ['169.254.169.254'] } }],
  ])('%s: each phase it runs is defined, and no optional phase it does not run', (_name, params) => {
    const { body } = renderBootstrapSource(params);
    const defined = [...body.matchAll(/^phase_([a-z_]+)\(\) \{/gm)].map((m) => m[1].replace(/_/g, '-'));
    const runs = phasesOf(params);
    expect(defined.filter((phase) => OPTIONAL.includes(phase)).sort()).toEqual(runs.filter((phase) => OPTIONAL.includes(phase)).sort());
    expect(runs.filter((phase) => !defined.includes(phase))).toEqual([]);
  });
});

describe('the body, filled in', () => {
  /** Renders with userdata/bootstrap.sh as `edit` makes it, every other file as it is (the renderer loaded afresh, with fs wrapped). */
  function renderWithEditedBootstrap(edit: (text: string) => string): () => unknown {
    const actual = jest.requireActual<typeof fs>('fs');
    const readFileSync = (file: fs.PathOrFileDescriptor, options?: unknown) => {
      const text = actual.readFileSync(file, options as BufferEncoding);
      return String(file).endsWith('/userdata/bootstrap.sh') ? edit(String(text)) : text;
    };
    let render: typeof renderBootstrapSource = renderBootstrapSource;
    jest.isolateModules(() => {
      jest.doMock('fs', () => ({ ...actual, readFileSync }));
      render = jest.requireActual<typeof import('../../lib/bootstrap/bootstrap-user-data')>('../../lib/bootstrap/bootstrap-user-data').renderBootstrapSource;
    });
    jest.dontMock('fs');
    return () => render(STANDALONE);
  }

  test('no placeholder or renderer\'s marker is left, in JupyterLab\'s phase or the materials\' (both name the course folder)', () => {
    const { body } = renderBootstrapSource(EVERYTHING);
    expect(body.match(/(?<!@)@[A-Z_]+@(?!@)/g)).toBeNull();
    expect(body.match(/@@[A-Z_]+@@/g)).toBeNull();
    expect(body).toContain('folder="$(getent passwd "$DASKLAB_USER" | cut -d: -f6)/course"');
    expect(body).toContain('http://127.0.0.1:8888/api/status');
  });

  test('a unit goes into its here-document whole, with no blank line before the document ends', () => {
    const { body } = renderBootstrapSource(EVERYTHING);
    expect(body).toContain(`<<'UNIT' && changed=1\n${renderDaskUnit(EVERYTHING).trimEnd()}\nUNIT\n`);
  });

  test('a bootstrap.sh without one of the renderer\'s markers, or without its shebang, is refused', () => {
    expect(renderWithEditedBootstrap((text) => text.replace('# @@PHASES@@\n', ''))).toThrow(new Error('userdata/bootstrap.sh has no "# @@PHASES@@" line'));
    expect(renderWithEditedBootstrap((text) => text.replace('#!/bin/bash', '#!/bin/sh'))).toThrow(new Error('userdata/bootstrap.sh must start with #!/bin/bash'));
  });
});

describe('what the bootstrap reads and what its parameters give', () => {
  test.each<[string, BootstrapParameters]>([
    ['the standalone machine', STANDALONE],
    ['a scheduler with every option', EVERYTHING],
    ['a TLS worker', { ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.1.5', name: 'worker-1', tls: { parameterPath: '/p/tls' } } }],
    ['a student with JupyterLab and idle stop', { ...STANDALONE, role: 'student', jupyter: true, idleStopMinutes: 20, trainerPublicKey: 'ssh-ed25519 AAAA t' }],
    ['an image build', { ...STANDALONE, imageBuild: true }],
  ])('%s: every DASKLAB_ variable the bootstrap reads is set, by its parameters or by the bootstrap itself', (_name, params) => {
    // GIVEN the bootstrap as the machine runs it
    const { body } = renderBootstrapSource(params);
    const set = new Set([...Object.keys(evaluated(params)), ...assignedIn(body)]);
    // WHEN the variables it reads are found
    const reads = requiredReads(body, set, phasesOf(params));
    // THEN none is read unset (bash's `set -u` would stop the bootstrap there)
    expect([...reads].filter((name) => !set.has(name))).toEqual([]);
    // AND every parameter is read: none is passed for nothing
    expect(Object.keys(evaluated(params)).filter((name) => !reads.has(name) && !body.includes(`\${${name}:-`))).toEqual([]);
  });

  test('the reading of the bootstrap sees arithmetic reads, and a function\'s reads only where it is called', () => {
    // GIVEN a scheduler, which waits for its workers until CloudFormation's deadline
    const params: BootstrapParameters = { ...STANDALONE, role: 'scheduler', dask: { schedulerHost: '10.0.0.4', name: 's', expectedWorkerCount: 2 } };
    const { body } = renderBootstrapSource(params);
    const set = new Set([...Object.keys(evaluated(params)), ...assignedIn(body)]);
    // THEN the deadline and the worker count, read in arithmetic, are found
    expect([...requiredReads(body, set, phasesOf(params))]).toEqual(expect.arrayContaining(['DASKLAB_READY_TIMEOUT_SECONDS', 'DASKLAB_DASK_WORKER_COUNT']));
    // AND a standalone machine, which has the deadline function but never calls it, does not need the deadline
    const standalone = renderBootstrapSource(STANDALONE).body;
    expect(standalone).toContain('seconds_until_deadline() {');
    expect([...requiredReads(standalone, new Set(), phasesOf(STANDALONE))]).not.toContain('DASKLAB_READY_TIMEOUT_SECONDS');
    // AND a read outside a function that runs is found, and an unset CodeArtifact's block is skipped
    expect([...requiredReads('seconds_until_deadline() {\necho $((DASKLAB_READY_TIMEOUT_SECONDS - 1))\n}\nseconds_until_deadline', new Set())]).toEqual(['DASKLAB_READY_TIMEOUT_SECONDS']);
    const guarded = 'if [[ -n "${DASKLAB_CODEARTIFACT_DOMAIN:-}" ]]; then\necho "$DASKLAB_CODEARTIFACT_REGION"\nfi';
    expect([...requiredReads(guarded, new Set())]).toEqual([]);
    expect([...requiredReads(guarded, new Set(['DASKLAB_CODEARTIFACT_DOMAIN']))]).toEqual(['DASKLAB_CODEARTIFACT_REGION']);
    expect([...requiredReads('echo "$DASKLAB_CODEARTIFACT_REGION"', new Set())]).toEqual(['DASKLAB_CODEARTIFACT_REGION']);
  });

  test('a student machine runs no Dask service: parameters that say otherwise are refused', () => {
    expect(() => renderParameters({ ...STANDALONE, role: 'student', dask: { schedulerHost: '10.0.0.4', name: 'x' } })).toThrow(
      'a student machine runs no Dask service',
    );
  });

  test.each(['dasklab/demo/tls', '/dasklab/demo/tls/', '/dasklab//tls', '/dasklab/de mo', ''])(
    'a TLS parameter path %j is refused, naming what is expected',
    (parameterPath) => {
      const params: BootstrapParameters = { ...STANDALONE, role: 'scheduler', dask: { schedulerHost: '10.0.0.4', name: 's', tls: { parameterPath } } };
      expect(() => renderParameters(params)).toThrow(
        `dask.tls.parameterPath must be an SSM parameter path like /dasklab/demo/cluster/tls, got ${JSON.stringify(parameterPath)}`,
      );
    },
  );

  test('a Dask unit carries the machine\'s user, venv, name, ports and protocol, and no placeholder', () => {
    // GIVEN a TLS scheduler and a worker
    const scheduler = renderDaskUnit({ ...STANDALONE, role: 'scheduler', user: 'student', dask: { schedulerHost: '10.0.1.5', name: 'scheduler', tls: { parameterPath: '/p/tls' } } });
    const worker = renderDaskUnit({ ...STANDALONE, role: 'worker', dask: { schedulerHost: '10.0.1.5', name: 'worker-7' } });
    // THEN each unit has its settings filled in
    expect(scheduler).toContain('User=student\n');
    expect(scheduler).toContain('ExecStart=/opt/dask/venv/bin/dask scheduler --protocol tls --port 8786 --dashboard-address :8787\n');
    expect(renderDaskUnit({ ...STANDALONE, role: 'scheduler', dask: { schedulerHost: '10.0.1.5', name: 'scheduler' } })).toContain('--protocol tcp ');
    expect(worker).toContain('User=ubuntu\n');
    expect(worker).toContain('--name worker-7 --nworkers 1');
    expect(worker).toContain('--worker-port 8788 --nanny-port 8789');
    expect(`${scheduler}${worker}`).not.toMatch(/@[A-Z_]+@/);
    // AND a machine without Dask has none
    expect(renderDaskUnit(STANDALONE)).toBe('');
  });
});

describe('what a machine installs, and where its workers find the scheduler', () => {
  test('apt installs the release\'s Python and its venv module, then pip and boto3 for the machine\'s own use', () => {
    expect(venvAptPackagesFor('3.12')).toEqual(['python3.12', 'python3.12-venv']);
    expect(aptPackagesFor('3.13')).toEqual(['python3.13', 'python3.13-venv', 'python3-pip', 'python3-boto3']);
  });

  test('pip installs the configured packages, and JupyterLab\'s where it runs', () => {
    expect(pipPackagesOf(STANDALONE)).toEqual(['numpy', 'dask[complete]']);
    expect(pipPackagesOf({ ...STANDALONE, jupyter: true })).toEqual(packagesWithJupyter(STANDALONE.packages));
    // AND the list is a copy: the caller's changes do not reach the parameters
    pipPackagesOf(STANDALONE).push('pandas');
    expect(STANDALONE.packages).toEqual(['numpy', 'dask[complete]']);
  });

  test('a machine shares its versions as its kind, and reads every kind\'s set below the app\'s path', () => {
    expect(versionSetKindOf(STANDALONE)).toBe('base');
    expect(versionSetKindOf({ ...STANDALONE, jupyter: true })).toBe('jupyter');
    const setPath = versionSetPath('demo', STANDALONE);
    expect(versionSetNamesOf(STANDALONE)).toEqual([`${setPath}/jupyter`, `${setPath}/base`]);
  });

  test('the scheduler\'s address is tcp:// unless TLS is asked for, on the scheduler port', () => {
    expect(schedulerAddress('10.0.0.5')).toBe('tcp://10.0.0.5:8786');
    expect(schedulerAddress('10.0.0.5', true)).toBe('tls://10.0.0.5:8786');
  });

  test('an optional phase\'s files: its own, and for TLS the part of the machine\'s role only', () => {
    expect(phaseFilesOf('dask', 'worker')).toEqual(['phases/dask.sh']);
    expect(phaseFilesOf('tls', 'scheduler')).toEqual(['phases/tls.sh', 'phases/tls-scheduler.sh']);
    expect(phaseFilesOf('tls', 'worker')).toEqual(['phases/tls.sh', 'phases/tls-worker.sh']);
  });
});

describe('fillPlaceholders', () => {
  test('each @NAME@ is replaced, every time it occurs; the renderer\'s @@MARKER@@ lines and a lone @ are left alone', () => {
    const text = 'User=@USER@\nExecStart=@VENV@/bin/dask @VENV@ me@example\n# @@DASK_UNIT@@\n';
    expect(fillPlaceholders('x.service', text, { USER: 'ubuntu', VENV: '/opt/v' })).toBe(
      'User=ubuntu\nExecStart=/opt/v/bin/dask /opt/v me@example\n# @@DASK_UNIT@@\n',
    );
  });

  test('an unknown placeholder is refused, naming the file and the placeholder', () => {
    expect(() => fillPlaceholders('dask-worker.service', 'User=@USER@ @PORTS@', { USER: 'ubuntu' })).toThrow(
      new Error('userdata/dask-worker.service: unknown placeholder @PORTS@'),
    );
  });

  test('the units as shipped have no placeholder left once filled', () => {
    const worker = { ...STANDALONE, role: 'worker' as const, dask: { schedulerHost: '10.0.0.4', name: 'w1', tls: undefined } };
    for (const unit of [renderDaskUnit(worker), renderDaskUnit({ ...STANDALONE, role: 'scheduler', dask: { schedulerHost: '127.0.0.1', name: 'scheduler' } })]) {
      expect(unit).not.toMatch(/@[A-Z_]+@|undefined/);
    }
  });
});

describe('JupyterLab\'s unit, filled in', () => {
  const STUDENT: BootstrapParameters = { ...STANDALONE, role: 'student', jupyter: true };

  test('it runs as the login user (ubuntu unless given), from the venv, on 127.0.0.1:8888, rooted in the course folder', () => {
    const lines = renderJupyterUnit(STUDENT).split('\n');
    expect(lines.filter((l) => /^(User|EnvironmentFile|ExecStart)=/.test(l))).toEqual([
      'User=ubuntu',
      'EnvironmentFile=/etc/dasklab/jupyter.env',
      'EnvironmentFile=-/etc/dasklab/dask.env',
      'EnvironmentFile=-/etc/dasklab/proxy.env',
      'ExecStart=/opt/dask/venv/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=8888 --ServerApp.port_retries=0 --ServerApp.root_dir=course',
    ]);
    expect(renderJupyterUnit({ ...STUDENT, user: 'alice', venv: '/srv/venv' }).split('\n').filter((l) => /^(User|ExecStart)=/.test(l))).toEqual([
      'User=alice',
      'ExecStart=/srv/venv/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=8888 --ServerApp.port_retries=0 --ServerApp.root_dir=course',
    ]);
  });
});
