import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  base85Decode,
  base85Encode,
  BODY_DELIMITER,
  BootstrapParameters,
  USERDATA_DIR,
  phasesOf,
  USER_DATA_LIMIT_BYTES,
  compactBash,
  decodeBootstrapBody,
  renderBootstrap,
  renderBootstrapSource,
  renderParameters,
  shellQuote,
  stripComments,
  userDataSize,
} from '../../lib/bootstrap/bootstrap-user-data';
import { CLIENT_TLS_PARAMETERS } from '../../lib/cluster/cluster-tls';

const PARAMS: BootstrapParameters = {
  app: 'dasklab',
  role: 'standalone',
  pythonVersion: '3.12',
  packages: ['numpy', 'dask[complete]'],
  venv: '/opt/dask/venv',
  signalUrl: 'https://example.invalid/handle?sig=a&b=c',
};

/** The bootstrap as the machine runs it, uncompressed: parameters, then the body. */
function readable(params: BootstrapParameters): string {
  const { parameters, body } = renderBootstrapSource(params);
  return `#!/bin/bash\n${parameters}\n${body}`;
}

/** Runs bash on a script and returns what it prints. */
function bash(script: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-')), 'script.sh');
  fs.writeFileSync(file, script);
  return execFileSync('bash', [file], { encoding: 'utf8' });
}

describe('shellQuote', () => {
  test.each(["plain", "it's", 'a b', '$(touch /tmp/x)', '`id`', 'dask[complete]>=2024.1; python_version>"3"'])(
    'bash reads %s back literally',
    (value) => {
      // GIVEN a value quoted for bash
      // WHEN bash echoes it
      // THEN it is unchanged
      expect(bash(`printf '%s' ${shellQuote(value)}`)).toBe(value);
    },
  );
});

describe('renderParameters', () => {
  test('renders a delimited block that bash evaluates to the parameters', () => {
    // GIVEN parameters with an index and several packages
    const block = renderParameters({ ...PARAMS, indexUrl: 'https://pypi.example/simple' });
    // WHEN bash evaluates the block
    const out = bash(
      `${block}\nprintf '%s|' "$DASKLAB_PYTHON_VERSION" "\${DASKLAB_PIP_PACKAGES[@]}" "$DASKLAB_PIP_INDEX_URL" "$DASKLAB_SIGNAL_URL" "$DASKLAB_USER"`,
    );
    // THEN every value arrives intact
    expect(block.split('\n')[0]).toBe('# >>> dasklab parameters');
    expect(block.split('\n').at(-1)).toBe('# <<< dasklab parameters');
    expect(out).toBe('3.12|numpy|dask[complete]|https://pypi.example/simple|https://example.invalid/handle?sig=a&b=c|ubuntu|');
  });
});

describe('what the apt phase installs before the venv and pip phases', () => {
  const aptPackages = (params: BootstrapParameters) => bash(`${renderParameters(params)}\nprintf '%s ' "\${DASKLAB_APT_PACKAGES[@]}"`).trim().split(' ');

  test('Python and its venv module only; boto3, which CodeArtifact\'s token needs, comes from apt-tools, which pip waits for', () => {
    expect(aptPackages(PARAMS)).toEqual(['python3.12', 'python3.12-venv']);
    expect(aptPackages({ ...PARAMS, codeArtifact: { domain: 'acme', repository: 'pypi-store', domainOwner: null, region: null } })).toEqual(['python3.12', 'python3.12-venv']);
  });
});

describe('renderBootstrap', () => {
  test('fills in the parameters and the unit, leaving no marker', () => {
    // WHEN the bootstrap is rendered
    const script = readable(PARAMS);
    // THEN it holds the parameters and the unit, and no marker remains
    expect(script).toContain("DASKLAB_PIP_PACKAGES=('numpy' 'dask[complete]')");
    expect(script).toContain('ExecStart=/usr/local/lib/dasklab/bootstrap.sh run');
    expect(script).not.toMatch(/# @@[A-Z_]+@@/);
  });

  test('user data: plain parameters, then the body compressed, which decodes to the bootstrap', () => {
    // WHEN the user data is rendered
    const userData = renderBootstrap(PARAMS);
    // THEN it is a bash script whose parameters are readable and whose body decodes to the source
    expect(userData.startsWith('#!/bin/bash\n')).toBe(true);
    expect(userData).toContain('\n# >>> dasklab parameters\n');
    expect(userData).toContain("DASKLAB_SIGNAL_URL='https://example.invalid/handle?sig=a&b=c'");
    expect(decodeBootstrapBody(userData)).toBe(renderBootstrapSource(PARAMS).body);
  });

  test('both the user data and the bootstrap it carries are valid bash and shellcheck-clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-'));
    for (const [name, text] of [['user-data.sh', renderBootstrap(PARAMS)], ['bootstrap.sh', readable(PARAMS)]]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      // execFileSync throws on a non-zero exit
      execFileSync('bash', ['-n', file]);
      execFileSync('shellcheck', [file]);
    }
  });

  test('bash decodes the body at run time: an unknown command is refused with its usage', () => {
    // GIVEN the user data as EC2 would run it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-'));
    const file = path.join(dir, 'user-data.sh');
    fs.writeFileSync(file, renderBootstrap(PARAMS));
    // WHEN it is run with a bad argument
    let status = 0;
    let stderr = '';
    try {
      execFileSync('bash', [file, 'explode'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number; stderr: string };
      status = e.status;
      stderr = e.stderr;
    }
    // THEN the decoded bootstrap exits 2 and says what it accepts, having touched nothing
    expect(status).toBe(2);
    expect(stderr).toContain('usage:');
    expect(stderr).toContain('[install|run]');
  });

  test('GIVEN user data that deflate cannot fit WHEN it is rendered THEN the body is LZMA instead, and bash decodes it at run time with python3', () => {
    // GIVEN the smallest package list whose deflated user data is over EC2's limit
    const withFiller = (n: number): BootstrapParameters => ({ ...PARAMS, packages: [...PARAMS.packages, `p${'q'.repeat(n)}`] });
    let n = 0;
    let userData = renderBootstrap(withFiller(n));
    while (!userData.includes('lzma.decompress')) {
      expect(userData).toContain('zlib.decompress');
      n += 16;
      userData = renderBootstrap(withFiller(n));
    }
    // THEN it fits, and its body decodes to the source
    expect(userDataSize(userData, PARAMS.signalUrl)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    expect(decodeBootstrapBody(userData)).toBe(renderBootstrapSource(withFiller(n)).body);
    // AND run by bash, python3's lzma decodes it: the bootstrap refuses an unknown command with its usage
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-')), 'user-data.sh');
    fs.writeFileSync(file, userData);
    const run = spawnSync('bash', [file, 'explode'], { encoding: 'utf8' });
    expect({ status: run.status, usage: run.stderr.includes('[install|run]') }).toEqual({ status: 2, usage: true });
  });

  test('the body is base85 exactly as Python decodes it: the bytes round-trip through python3', () => {
    // GIVEN every byte value, at every length modulo 4
    for (const length of [0, 1, 2, 3, 4, 255, 256, 1021]) {
      const data = Buffer.from(Array.from({ length }, (_, i) => (i * 97 + length) % 256));
      // WHEN encoded here and decoded by Python's base64.b85decode (what the machine runs)
      const encoded = base85Encode(data);
      const decoded = execFileSync('python3', ['-c', 'import base64,sys;sys.stdout.buffer.write(base64.b85decode(sys.stdin.read()))'], { input: encoded });
      // THEN the bytes come back, and Python's own encoder agrees
      expect(Buffer.compare(decoded, data)).toBe(0);
      expect(execFileSync('python3', ['-c', 'import base64,sys;sys.stdout.write(base64.b85encode(sys.stdin.buffer.read()).decode())'], { input: data, encoding: 'utf8' })).toBe(encoded);
      expect(Buffer.compare(base85Decode(encoded), data)).toBe(0);
    }
  });

  test('decodeBootstrapBody refuses user data without a compressed body', () => {
    expect(() => decodeBootstrapBody('#!/bin/bash\necho hi\n')).toThrow(new Error('no compressed bootstrap body in this user data'));
  });

  test('base85Decode refuses a character outside the alphabet, naming it', () => {
    // GIVEN text with a quote, which base85 never writes WHEN decoded THEN it is refused, not decoded to other bytes
    expect(() => base85Decode('ab"cd')).toThrow(new Error('not base85: "\\""'));
  });

  test('a body that fits deflated is Node\'s deflate at level 9, base85-encoded between the delimiters', () => {
    // GIVEN the default machine's user data
    const userData = renderBootstrap(PARAMS);
    // WHEN its encoded body is read back
    const encoded = userData.split(`<<'${BODY_DELIMITER}'\n`)[1].split(`\n${BODY_DELIMITER}\n`)[0];
    // THEN it is the body at deflate's smallest setting, byte for byte
    const expected = zlib.deflateSync(Buffer.from(renderBootstrapSource(PARAMS).body), { level: 9 });
    expect(Buffer.compare(base85Decode(encoded), expected)).toBe(0);
  });

  test('a deploy-time value outside the parameters is refused', () => {
    const params = { ...PARAMS, role: 'worker' as const, dask: { schedulerHost: '10.0.0.1', name: '${Token[TOKEN.9]}' } };
    expect(() => renderBootstrap(params)).toThrow(/pass it as a parameter/);
  });
});

describe('bash as it travels in user data', () => {
  const files = ['bootstrap.sh', 'codeartifact.sh', 'dasklab-idle-check.sh', ...fs.readdirSync(path.join(USERDATA_DIR, 'phases')).map((f) => `phases/${f}`)];

  /** Every function and variable a script defines, as bash itself prints them (but the clock's). */
  function definitions(script: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-defs-'));
    const file = path.join(dir, 'script.sh');
    // The bootstrap's last line runs it, and its options stop at the first unset parameter: only its definitions are wanted.
    fs.writeFileSync(file, script.replace(/^main "\$@"$/m, '').replace(/^set -[a-zA-Z]+ pipefail$/m, ''));
    return execFileSync('bash', ['--norc', '-c', 'source "$1" >/dev/null 2>&1; declare -f; declare -p | grep -v -E "^declare (-[a-zA-Z-]+ )?(BASH|_|SHELLOPTS|BASHOPTS|PIPESTATUS|FUNCNAME|LINENO|SECONDS|RANDOM|SRANDOM|EPOCH|PPID|OLDPWD|PWD|STARTED_AT)"', 'defs', file], { encoding: 'utf8', env: { PATH: process.env.PATH, DASKLAB_IDLE_MINUTES: '30' } });
  }

  test('comment and blank lines are dropped; the shebang, markers and shellcheck directives stay', () => {
    // GIVEN a script with each kind of line, indented and not
    const script = ['#!/bin/bash', '# what it does', '', '  # shellcheck disable=SC2034', 'a=1 # a trailing comment stays', '   ', '# @@PHASES@@', '  echo "#"', ''].join('\n');
    // WHEN its comments are stripped THEN exactly the lines bash or the renderer needs are left, ending in a newline
    expect(stripComments(script)).toBe(['#!/bin/bash', '  # shellcheck disable=SC2034', 'a=1 # a trailing comment stays', '# @@PHASES@@', '  echo "#"', ''].join('\n'));
    // AND a part without a shebang has its first line treated like any other
    expect(stripComments('# a phase\necho hi')).toBe('echo hi\n');
    expect(stripComments('echo hi\n#!/bin/sh')).toBe('echo hi\n');
    // AND compacted, only a whole line of the shellcheck shell directive goes, and the indentation
    expect(compactBash('# shellcheck shell=bash\n  a=1 # shellcheck shell=bash\n')).toBe('a=1 # shellcheck shell=bash\n');
  });

  test.each(files)('%s: without indentation it defines exactly what it defines with it', (file) => {
    // GIVEN the script as written
    const source = fs.readFileSync(path.join(USERDATA_DIR, file), 'utf8');
    // WHEN compacted for user data
    const compact = compactBash(source);
    // THEN bash reads the same functions, strings and here-documents as from the script with only its comment lines dropped, and it is smaller
    const uncommented = stripComments(source);
    expect(definitions(compact)).toBe(definitions(uncommented));
    expect(compact.length).toBeLessThan(uncommented.length);
  });
});

describe('user data size', () => {
  test('the default machine stays well under EC2s 16 KB limit, counting the signal URL at its longest', () => {
    // GIVEN the default parameters, with the signal URL a token as at synth time
    const signalUrl = '${Token[TOKEN.123]}';
    const script = renderBootstrap({ ...PARAMS, signalUrl });
    // WHEN it is sized
    const size = userDataSize(script, signalUrl);
    expect(size).toBe(Buffer.byteLength(script) - signalUrl.length + 1024);
    // THEN it fits with room for a long package list
    expect(size).toBeLessThan(USER_DATA_LIMIT_BYTES - 2048);
  });

  test('a package list that would exceed the limit is refused at synth with the reason', () => {
    // GIVEN 400 long package specs
    const packages = Array.from({ length: 400 }, (_, i) => `some-rather-long-package-name-${i}>=1.${i}`);
    // WHEN the bootstrap is rendered
    // THEN it throws, naming the limit and what to shorten
    expect(() => renderBootstrap({ ...PARAMS, packages })).toThrow(/at most 16384.*python\.packages/s);
  });
});

describe('idle stop', () => {
  test('machines without idle stop carry none of its files', () => {
    const script = readable(PARAMS);
    expect(script).not.toContain('DASKLAB_IDLE_STOP_MINUTES');
    expect(script).not.toContain('dasklab-idle:');
  });

  test('with idleStopMinutes the check, its service and its timer are embedded with the limit', () => {
    // GIVEN a 45-minute idle stop
    const script = readable({ ...PARAMS, role: 'student', idleStopMinutes: 45 });
    // THEN
    expect(script).toContain("DASKLAB_PHASES=('apt' 'apt-tools' 'venv' 'pip' 'profile' 'trainer-key' 'verify' 'idle')");
    expect(script).toContain('Environment=DASKLAB_IDLE_MINUTES=45');
    expect(script).toContain('OnUnitActiveSec=1min');
    expect(script).toContain('systemctl poweroff');
    // AND the result is still valid, shellcheck-clean bash
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-'));
    fs.writeFileSync(path.join(dir, 'u.sh'), script);
    execFileSync('bash', ['-n', path.join(dir, 'u.sh')]);
    execFileSync('shellcheck', [path.join(dir, 'u.sh')]);
  });
});

describe('userdata/ scripts', () => {
  test('every script under userdata/ is shellcheck-clean', () => {
    // GIVEN every shell script the machines run, phases included
    const scripts = [
      ...fs.readdirSync(USERDATA_DIR).filter((f) => f.endsWith('.sh')),
      ...fs.readdirSync(path.join(USERDATA_DIR, 'phases')).map((f) => path.join('phases', f)),
    ].map((f) => path.join(USERDATA_DIR, f));
    expect(scripts.length).toBeGreaterThanOrEqual(6);
    // WHEN shellcheck reads them THEN it finds nothing (execFileSync throws otherwise)
    execFileSync('shellcheck', scripts);
  });

  test('a machine carries only the phases it runs', () => {
    expect(phasesOf(PARAMS)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify']);
    const scheduler = { ...PARAMS, role: 'scheduler' as const, dask: { schedulerHost: '10.40.0.10', name: 'scheduler', expectedWorkerCount: 1 } };
    expect(phasesOf(scheduler)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'dask', 'cluster']);
    expect(readable(PARAMS)).not.toContain('phase_cluster');
    expect(readable(scheduler)).toContain('phase_cluster()');
  });
});

describe('mutual TLS in a cluster', () => {
  const TLS = { parameterPath: '/dasklab/demo/cluster/tls' };
  const SCHEDULER: BootstrapParameters = {
    ...PARAMS,
    role: 'scheduler',
    readyTimeoutSeconds: 1200,
    dask: { schedulerHost: '10.40.0.10', name: 'scheduler', expectedWorkerCount: 2, tls: TLS },
  };
  const WORKER: BootstrapParameters = { ...PARAMS, role: 'worker', dask: { schedulerHost: '10.40.0.10', name: 'worker-1', tls: TLS } };

  test('a TLS scheduler carries the code that makes certificates, a worker the code that fetches them, neither the other’s', () => {
    // WHEN a TLS scheduler and worker are rendered
    const scheduler = readable(SCHEDULER);
    const worker = readable(WORKER);
    // THEN each holds its own role's part of the TLS phase and the shared part
    for (const text of [scheduler, worker]) expect(text).toContain('phase_tls() {');
    expect(scheduler).toContain('tls_mint() {');
    expect(scheduler).not.toContain('tls_fetch() {');
    expect(worker).toContain('tls_fetch() {');
    expect(worker).toContain('tls_refresh() {');
    expect(worker).not.toContain('tls_mint() {');
  });

  test('a TLS scheduler and worker run the tls phase before dask, with its parameters and a tls:// address', () => {
    // GIVEN a scheduler and a worker of a cluster with TLS
    // WHEN their bootstraps are rendered
    const scheduler = readable(SCHEDULER);
    const worker = readable(WORKER);
    // THEN both run the tls phase right before dask, and know where the certificates are shared
    expect(phasesOf(SCHEDULER)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'tls', 'dask', 'cluster']);
    expect(phasesOf(WORKER)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'tls', 'dask']);
    for (const script of [scheduler, worker]) {
      expect(script).toContain("DASKLAB_TLS_PARAMETER_PATH='/dasklab/demo/cluster/tls'");
      expect(script).toContain("DASKLAB_SCHEDULER_ADDRESS='tls://10.40.0.10:8786'");
      expect(script).toContain('phase_tls()');
    }
    // AND the worker knows the deadline it must give up before
    expect(worker).toContain("DASKLAB_READY_TIMEOUT_SECONDS='1800'");
    expect(scheduler).toContain("DASKLAB_READY_TIMEOUT_SECONDS='1200'");
    // AND the scheduler listens on tls
    expect(scheduler).toMatch(/dask scheduler --protocol tls /);
  });

  test('without TLS there is no tls phase, and the scheduler listens on plain TCP', () => {
    // GIVEN a cluster without TLS (cluster.tls: false, or a lab's per-student cluster)
    const plain = { ...SCHEDULER, dask: { ...SCHEDULER.dask!, tls: undefined } };
    // WHEN rendered
    const script = readable(plain);
    // THEN
    expect(phasesOf(plain)).not.toContain('tls');
    expect(script).not.toContain('DASKLAB_TLS_PARAMETER_PATH');
    expect(script).not.toContain('phase_tls');
    expect(script).toContain("DASKLAB_SCHEDULER_ADDRESS='tcp://10.40.0.10:8786'");
    expect(script).toMatch(/dask scheduler --protocol tcp /);
  });

  test('no certificate or key material can be in the user data: the machines make and fetch it', () => {
    // GIVEN the rendered user data of a TLS scheduler and worker, and the files they are made of
    // (the compressed body decoded: it is the readable bootstrap)
    const texts = [SCHEDULER, WORKER].flatMap((p) => {
      const userData = renderBootstrap(p);
      return [userData.split(`<<'${BODY_DELIMITER}'`)[0], decodeBootstrapBody(userData)];
    });
    const sources = [
      ...fs.readdirSync(USERDATA_DIR).filter((f) => !fs.statSync(path.join(USERDATA_DIR, f)).isDirectory()),
      ...fs.readdirSync(path.join(USERDATA_DIR, 'phases')).map((f) => path.join('phases', f)),
    ].map((f) => fs.readFileSync(path.join(USERDATA_DIR, f), 'utf8'));
    // WHEN searched for PEM blocks, or the base64 that DER certificates and EC keys start with
    // THEN there is none
    for (const text of [...texts, ...sources]) {
      expect(text).not.toMatch(/-----BEGIN [A-Z ]+-----/);
      expect(text).not.toMatch(/MII[A-Za-z0-9+/]{20}|MHcCAQEE/);
    }
    // AND the parameters hold no PEM-like value: the renderer takes only a path
    expect(renderParameters(SCHEDULER)).not.toMatch(/BEGIN|PRIVATE|CERTIFICATE/);
    // AND the certificates are made with openssl on the machine
    expect(readable(SCHEDULER)).toContain('openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256');
  });

  test('the certificates are shared as SecureString parameters, among them every one the CLI reads', () => {
    // GIVEN the scheduler's bootstrap
    const script = readable(SCHEDULER);
    // THEN it publishes exactly these names below the path, as SecureString, overwriting
    const shared = /TLS_SHARED=\(([^)]*)\)/.exec(script)![1].split(' ');
    expect(shared).toEqual(['ca-cert', 'worker-cert', 'worker-key', 'client-cert', 'client-key']);
    expect(script).toContain('Type="SecureString", Overwrite=True');
    // AND `dasklab tls-client` finds what it reads there
    expect(shared).toEqual(expect.arrayContaining(Object.values(CLIENT_TLS_PARAMETERS)));
  });

  test.each(['dasklab/demo/tls', '/dasklab/demo/tls/', '/dasklab/de mo', ''])('a parameter path like %j is refused at synth', (parameterPath) => {
    // GIVEN a malformed parameter path
    const params = { ...WORKER, dask: { ...WORKER.dask!, tls: { parameterPath } } };
    // WHEN rendered THEN it throws, naming the field
    expect(() => renderBootstrap(params)).toThrow(/dask\.tls\.parameterPath/);
  });

  test('the largest TLS machine stays within EC2s 16 KB limit, counting the signal URL at its longest', () => {
    // GIVEN a TLS scheduler waiting for many workers, with the signal URL a token as at synth time
    const signalUrl = '${Token[TOKEN.123]}';
    const workers = Array.from({ length: 100 }, (_, i) => `worker-${i + 1}`);
    const script = renderBootstrap({ ...SCHEDULER, signalUrl, dask: { ...SCHEDULER.dask!, expectedWorkerCount: workers.length } });
    // WHEN sized THEN it fits with room to spare (12.6 KB today)
    expect(userDataSize(script, signalUrl)).toBeLessThan(USER_DATA_LIMIT_BYTES - 1024);
  });

  test('the TLS bootstrap is valid bash and shellcheck-clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-'));
    for (const [name, text] of [['scheduler.sh', readable(SCHEDULER)], ['worker.sh', readable(WORKER)]]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      execFileSync('bash', ['-n', file]);
      execFileSync('shellcheck', [file]);
    }
  });
});

describe('settings a deploy changes', () => {
  test('every machine manages the trainer key, so that a key a later config withdraws is removed', () => {
    // GIVEN a machine without a trainer key WHEN rendered
    const { parameters, body } = renderBootstrapSource(PARAMS);
    // THEN it still runs the phase, with an empty key (which withdraws one an earlier deploy added)
    expect(phasesOf(PARAMS)).toContain('trainer-key');
    expect(parameters).toContain("DASKLAB_TRAINER_KEY=''");
    expect(body).toContain('phase_trainer_key()');
  });

  test('on every boot the bootstrap adopts the user data EC2 has now, before anything else', () => {
    const body = renderBootstrapSource(PARAMS).body;
    expect(body).toContain('imds_get user-data');
    expect(body).toMatch(/adopt_current_user_data 2>>"\$LOG_FILE"; then\n\s*exec "\$INSTALL_PATH" run/);
  });

  test('the verify phase checks every configured package, not only numpy and dask', () => {
    const body = renderBootstrapSource({ ...PARAMS, packages: ['numpy', 'dask[complete]', 'pandas>=2'] }).body;
    expect(body).toMatch(/phase_verify\(\) \{\n\s*verify_packages/);
  });
});

describe('dasklab-bootstrap.service', () => {
  test('runs on every boot without an ordering cycle with cloud-final', () => {
    // GIVEN the unit: ordered after cloud-final, which is itself ordered after multi-user.target
    const unit = fs.readFileSync(path.join(USERDATA_DIR, 'dasklab-bootstrap.service'), 'utf8');
    // THEN it is wanted by cloud-init.target, not by multi-user.target
    expect(unit).toMatch(/^After=.*cloud-final\.service/m);
    expect(unit).toMatch(/^WantedBy=cloud-init\.target$/m);
    expect(unit).not.toMatch(/^WantedBy=multi-user\.target$/m);
  });

  test('the apt phase retries update and install together and waits for dpkg', () => {
    const body = renderBootstrapSource(PARAMS).body;
    expect(body).toContain('APT::Update::Error-Mode=any update');
    expect(body).toContain('retry 6 5 apt_update_install');
    expect(body).toContain('with_dpkg_lock dpkg --configure -a');
    expect(body).toContain('DPKG_FRONTEND_LOCKED');
  });

  test("apt never waits on needrestart: it lists services, it does not restart them or ask", () => {
    const body = renderBootstrapSource(PARAMS).body;
    expect(body).toMatch(/^export NEEDRESTART_MODE=l$/m);
    expect(body).toMatch(/^export DEBIAN_FRONTEND=noninteractive$/m);
  });
});
