/**
 * The app's version set as the bootstrap keeps it (version_set, version_pins
 * and phase_pip in userdata/bootstrap.sh), run by bash against moto's SSM
 * Parameter Store. The functions run with the moto tree's bash, Python and
 * boto3 (Debian trixie, as on the twin's machines): Debian 12's boto3 predates
 * AWS_ENDPOINT_URL. Stand-ins: `log` (stdout), `imds_get` (the region),
 * `as_user` (runs as the caller), `packages_fingerprint`, `sleep` (no wait), and a `pip` that
 * records the constraints it was given and "installs" the versions of a file.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';
import { ensureMotoRoot, MotoServer, motoSkipReason, startMoto } from './moto-server';
import { REGION } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
/** Functions replaced for one test. */
const overrides = new Map<string, string>();

function functionText(name: string): string {
  const override = overrides.get(name);
  if (override !== undefined) return override;
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(BOOTSTRAP);
  if (match === null) throw new Error(`no function ${name}`);
  return match[0];
}

const SET = '/dasklab/course/python/0123456789ab';

interface PipRun {
  status: number;
  output: string;
  /** The constraints each pip install was given ('' for none). */
  constraints: string[];
  /** What the venv holds afterwards (pip freeze). */
  installed: string;
}

suite('the version set against moto', () => {
  let moto: MotoServer;
  let root: string;
  let work: string;

  beforeAll(async () => {
    moto = await startMoto();
    root = ensureMotoRoot();
  }, 300_000);

  afterAll(async () => {
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    work = fs.mkdtempSync(path.join(root, 'tmp', 'version-set-'));
  });

  afterEach(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs phase_pip of a machine of `kind` whose pip resolves to `resolves`
   * (`Name==version` lines) when unconstrained, and to the pinned versions
   * where the constraints name a package.
   */
  function runPhasePip(kind: 'base' | 'jupyter', resolves: string, fresh = true): PipRun {
    const inTree = `/tmp/${path.basename(work)}`;
    fs.writeFileSync(path.join(work, 'resolves.txt'), resolves);
    const script = [
      'set -Eeuo pipefail',
      `STATE_DIR=${inTree}`,
      BOOTSTRAP.match(/^readonly VERSION_PINS=.*$/m)![0],
      BOOTSTRAP.match(/^readonly PIN_PATTERN=.*$/m)![0],
      'log() { printf "%s\\n" "$*"; }',
      `imds_get() { echo ${REGION}; }`,
      'as_user() { "$@"; }',
      'packages_fingerprint() { echo fingerprint; }',
      // The real retry (its command runs as a condition, where set -e does not apply), without its waits.
      'sleep() { :; }',
      functionText('retry'),
      `PACKAGES_STAMP=${inTree}/stamp`,
      `DASKLAB_VENV=${inTree}/venv`,
      'DASKLAB_PIP_PACKAGES=(numpy dask) DASKLAB_PIP_INDEX_URL=',
      `DASKLAB_AWS_ENDPOINT_URL=${moto.endpoint}`,
      `DASKLAB_VERSION_SETS=(${SET}/jupyter ${SET}/base) DASKLAB_VERSION_SET_OWN=${kind === 'jupyter' ? 0 : 1}`,
      // A venv made in this run (phase_venv), unless the test says otherwise.
      fresh ? ': >"$VENV_NEW"' : '',
      // The venv's pip: install takes each resolved version unless a constraint pins the package.
      `mkdir -p ${inTree}/venv/bin`,
      `cat >${inTree}/venv/bin/python <<'FAKE'`,
      '#!/bin/bash',
      'state=$(dirname "$(dirname "$(dirname "$0")")")',
      'if [[ "$3" == freeze ]]; then cat "$state/installed.txt"; exit; fi',
      'constraint=; for ((i = 1; i <= $#; i++)); do [[ "${!i}" == --constraint ]] && { j=$((i + 1)); constraint=${!j}; }; done',
      'echo "${constraint:+$(tr "\\n" " " <"$constraint")}" >>"$state/constraints.log"',
      'awk -F== \'FILENAME == ARGV[1] { pin[tolower($1)] = $0; next } { print (tolower($1) in pin ? pin[tolower($1)] : $0) }\' "${constraint:-/dev/null}" "$state/resolves.txt" >"$state/installed.txt"',
      'FAKE',
      `chmod +x ${inTree}/venv/bin/python`,
      functionText('pip_install').replace(/\(\n[\s\S]*?\) 2>&1 \| redact_urls/, '"$DASKLAB_VENV/bin/python" -m pip "${args[@]}" "${DASKLAB_PIP_PACKAGES[@]}"'),
      functionText('version_set'),
      functionText('version_pins'),
      functionText('pip_freeze'),
      functionText('pip_align'),
      functionText('phase_pip'),
      'phase_pip',
    ].join('\n');
    const result = spawnSync('chroot', [root, 'bash', '-c', script], {
      encoding: 'utf8',
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: '/root',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeout: 60_000,
    });
    const read = (name: string) => (fs.existsSync(path.join(work, name)) ? fs.readFileSync(path.join(work, name), 'utf8') : '');
    const run = {
      status: result.status ?? -1,
      output: `${result.stdout}${result.stderr}`,
      constraints: read('constraints.log').split('\n').slice(0, -1).map((line) => line.trim()),
      installed: read('installed.txt'),
    };
    for (const file of ['constraints.log', 'installed.txt', 'stamp', 'version-pins.txt', 'pip-freeze.txt', 'venv-new']) fs.rmSync(path.join(work, file), { force: true });
    return run;
  }

  /** Puts a parameter as a machine of the app could, bypassing the bootstrap. */
  function putParameter(name: string, value: string): void {
    const result = spawnSync('chroot', [root, 'python3', '-c', [
      'import boto3, sys',
      `boto3.client("ssm", region_name="${REGION}", endpoint_url="${moto.endpoint}").put_parameter(Name=sys.argv[1], Value=sys.stdin.read(), Type="String")`,
    ].join('\n'), name], { encoding: 'utf8', input: value, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } });
    if (result.status !== 0) throw new Error(result.stderr);
  }

  async function parameter(name: string): Promise<string | undefined> {
    const result = spawnSync('chroot', [root, 'python3', '-c', [
      'import boto3, sys',
      `ssm = boto3.client("ssm", region_name="${REGION}", endpoint_url="${moto.endpoint}")`,
      `found = ssm.get_parameters(Names=["${name}"])["Parameters"]`,
      'print(found[0]["Value"] if found else "<none>", end="")',
    ].join('\n')], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } });
    if (result.status !== 0) throw new Error(result.stderr);
    return result.stdout === '<none>' ? undefined : result.stdout;
  }

  test('GIVEN no version set WHEN the first machine installs THEN it installs unconstrained and shares what it installed as its kind\'s set', async () => {
    const run = runPhasePip('base', 'dask==2024.1.0\nnumpy==1.26.0\n');
    expect({ status: run.status, constraints: run.constraints, output: run.status ? run.output : '' }).toEqual({ status: 0, constraints: [''], output: '' });
    expect(run.output).toContain(`the version set ${SET} pins 0 packages`);
    expect(await parameter(`${SET}/base`)).toBe('dask==2024.1.0\nnumpy==1.26.0\n');
  });

  test('GIVEN a shared set WHEN a machine of the same kind installs weeks later, with newer releases on the index THEN it installs the set\'s versions and leaves the set as it was', async () => {
    runPhasePip('base', 'dask==2024.1.0\nnumpy==1.26.0\n');
    const later = runPhasePip('base', 'dask==2025.6.0\nnumpy==2.1.0\n');
    expect(later.status).toBe(0);
    expect(later.constraints).toEqual(['dask==2024.1.0 numpy==1.26.0']);
    expect(later.installed).toBe('dask==2024.1.0\nnumpy==1.26.0\n');
    expect(await parameter(`${SET}/base`)).toBe('dask==2024.1.0\nnumpy==1.26.0\n');
  });

  test('GIVEN a set with a line that is not a pin (a pip option) and names spelled apart WHEN a machine installs THEN pip gets only the pins, one per project as pip names them', async () => {
    // GIVEN a jupyter set that a machine's user wrote before any JupyterLab machine (the role may add it)
    runPhasePip('base', 'dask==2024.1.0\ntyping_extensions==4.12.2\n');
    putParameter(`${SET}/jupyter`, '--index-url=http://127.0.0.1:9/simple==x\n-r /etc/passwd\nTyping-Extensions==4.0.0\njupyterlab==4.2.0\n');
    // WHEN a base machine installs
    const later = runPhasePip('base', 'dask==2025.6.0\ntyping_extensions==4.13.0\n');
    // THEN the option lines never reach pip, and the base set's typing_extensions wins over the other spelling
    expect(later.status).toBe(0);
    expect(later.constraints).toEqual(['dask==2024.1.0 jupyterlab==4.2.0 typing_extensions==4.12.2']);
  });

  test('GIVEN a venv the bootstrap did not make in this run WHEN the first machine installs into it THEN it shares nothing: the venv may hold what its users installed', async () => {
    const run = runPhasePip('base', 'dask==2024.1.0\ntorch==2.5.0\n', false);
    expect(run.status).toBe(0);
    expect(await parameter(`${SET}/base`)).toBeUndefined();
    // AND the next machine with a new venv shares its own
    runPhasePip('base', 'dask==2024.1.0\n');
    expect(await parameter(`${SET}/base`)).toBe('dask==2024.1.0\n');
  });

  test('GIVEN the base set WHEN the first JupyterLab machine installs THEN it pins the common packages to the base set, resolves its own and shares them as the jupyter set', async () => {
    runPhasePip('base', 'dask==2024.1.0\nnumpy==1.26.0\n');
    const jupyter = runPhasePip('jupyter', 'dask==2025.6.0\njupyterlab==4.2.0\nnumpy==2.1.0\n');
    expect(jupyter.status).toBe(0);
    expect(jupyter.constraints).toEqual(['dask==2024.1.0 numpy==1.26.0']);
    expect(await parameter(`${SET}/jupyter`)).toBe('dask==2024.1.0\njupyterlab==4.2.0\nnumpy==1.26.0\n');
    // AND a later base machine pins the same
    const base = runPhasePip('base', 'dask==2025.6.0\nnumpy==2.1.0\n');
    expect(base.constraints).toEqual(['dask==2024.1.0 jupyterlab==4.2.0 numpy==1.26.0']);
  });

  test('GIVEN a JupyterLab set shared first, and then a base set that resolved otherwise WHEN a JupyterLab machine installs THEN the base kind\'s versions win for the packages both install', async () => {
    putParameter(`${SET}/jupyter`, 'dask==2024.6.0\njupyterlab==4.2.0\n');
    putParameter(`${SET}/base`, 'dask==2024.1.0\n');
    const jupyter = runPhasePip('jupyter', 'dask==2025.6.0\njupyterlab==4.3.0\n');
    expect(jupyter.status).toBe(0);
    expect(jupyter.installed).toBe('dask==2024.1.0\njupyterlab==4.2.0\n');
  });

  test('GIVEN Parameter Store refuses the share WHEN the first machine shares THEN it says so and is ready all the same', () => {
    // GIVEN a put that Parameter Store refuses, as it does a value over 8 KB (moto does not enforce
    // that limit, so the refusal is stood in for)
    const refusing = functionText('version_set').replace(/^version_set\(\) \{/m, 'version_set_sent() {') +
      'version_set() { if [[ "$1" == put ]]; then echo "ValidationException: the value is too long" >&2; return 1; fi; version_set_sent "$@"; }\n';
    const run = withFunction('version_set', refusing, () => runPhasePip('base', 'dask==2024.1.0\n'));
    // THEN the pip phase ends well, saying it could not share
    expect(run.status).toBe(0);
    expect(run.output).toContain('ValidationException: the value is too long');
    expect(run.output).toContain('could not share this machine\'s versions');
  });

  test('GIVEN two machines of a kind that resolved differently WHEN the second shares its set THEN SSM keeps the first, and the second installs the first one\'s versions', async () => {
    // GIVEN the first machine's set, shared while the second was installing unconstrained
    runPhasePip('base', 'dask==2024.1.0\nnumpy==1.26.0\n');
    // WHEN the second machine, whose first look found no set, shares what it resolved
    const second = runPhasePipRacing();
    // THEN its put is refused, and it reinstalls with the first machine's versions
    expect(second.status).toBe(0);
    expect(second.constraints).toEqual(['', 'dask==2024.1.0 numpy==1.26.0']);
    expect(second.installed).toBe('dask==2024.1.0\nnumpy==1.26.0\n');
    expect(await parameter(`${SET}/base`)).toBe('dask==2024.1.0\nnumpy==1.26.0\n');
  });

  test('GIVEN SSM refuses the machine WHEN it installs THEN the pip phase fails naming the version set and the error, with no traceback', () => {
    const run = runPhasePipWithEndpoint('http://127.0.0.1:9', 'base', 'dask==2024.1.0\n');
    expect(run.status).not.toBe(0);
    expect(run.output).toContain(`the version set ${SET}: Could not connect to the endpoint URL`);
    expect(run.output).not.toContain('Traceback');
  });

  /** phase_pip of a base machine whose first look at the set found none: it raced the first machine. */
  function runPhasePipRacing(): PipRun {
    const original = functionText('version_pins');
    const racing = original.replace(/^version_pins\(\) \{/m, 'version_pins_now() {') +
      `VERSION_PINS_CALLS=0\nversion_pins() { VERSION_PINS_CALLS=$((VERSION_PINS_CALLS + 1)); if ((VERSION_PINS_CALLS == 1)); then : >"$VERSION_PINS"; else version_pins_now; fi; }\n`;
    return withFunction('version_pins', racing, () => runPhasePip('base', 'dask==2025.6.0\nnumpy==2.1.0\n'));
  }

  function runPhasePipWithEndpoint(endpoint: string, kind: 'base' | 'jupyter', resolves: string): PipRun {
    const saved = moto.endpoint;
    (moto as { endpoint: string }).endpoint = endpoint;
    try {
      return runPhasePip(kind, resolves);
    } finally {
      (moto as { endpoint: string }).endpoint = saved;
    }
  }
});

/** Runs `body` with functionText(name) giving `replacement`. */
function withFunction<T>(name: string, replacement: string, body: () => T): T {
  overrides.set(name, replacement);
  try {
    return body();
  } finally {
    overrides.delete(name);
  }
}
