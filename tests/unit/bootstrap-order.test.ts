/**
 * The order in which the bootstrap (userdata/bootstrap.sh) runs its phases,
 * run by bash on this machine with `run_bootstrap` and its phase runner as
 * written: what need not wait does not wait. The phases themselves are
 * stand-ins that record when they start and end; so are `tag_self`,
 * `write_ready_json`, `signal_cloudformation`, `stop_idle_timer`, the log's
 * flush and the check for apt's tools.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { phasesOf, renderParameters, USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

const SCRIPT = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');

/** The text of a top-level bash function of the bootstrap, `name() {` to its closing `}`. */
function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(SCRIPT);
  if (match === null) throw new Error(`userdata/bootstrap.sh has no function ${name}`);
  return match[0];
}

/** The bootstrap's top-level lines that start with `prefix` (its declarations). */
function declarations(prefix: string): string[] {
  return SCRIPT.split('\n').filter((line) => line.startsWith(prefix));
}

const RUNNER = ['run_phase', 'await_background_phases', 'run_bootstrap', 'on_failure'];

interface Run {
  status: number;
  events: string[];
  log: string;
  ready?: string;
}

/**
 * Runs `run_bootstrap` over `phases`, each a stand-in defined by `stubs`
 * (bash function bodies by phase name; the default records start and end).
 */
function runBootstrap(dir: string, phases: string[], stubs: Record<string, string> = {}): Run {
  const events = path.join(dir, 'events');
  const record = (what: string) => `echo "${what}" >>'${events}'`;
  const phaseFunctions = phases.map((phase) => {
    const fn = `phase_${phase.replace(/-/g, '_')}`;
    const body = stubs[phase] ?? 'sleep 0.2';
    return `${fn}() {\n${record(`start ${phase}`)}\n${body}\n${record(`end ${phase}`)}\n}`;
  });
  const script = [
    'set -Eeuo pipefail',
    `STATE_DIR='${dir}'`,
    'CURRENT_PHASE=start',
    'PHASE_TIMES=()',
    'VERSIONS_JSON={}',
    'SECONDS=0',
    ...declarations('declare -A BACKGROUND_'),
    ...declarations('readonly BACKGROUND_'),
    'DASKLAB_APP=demo',
    'DASKLAB_ROLE=standalone',
    `DASKLAB_PHASES=(${phases.join(' ')})`,
    'log() { printf "%s [%s] %s\\n" "$(date +%T)" "$CURRENT_PHASE" "$*" >&2; }',
    'tag_self() { :; }',
    'stop_idle_timer() { :; }',
    `write_ready_json() { echo "$1 \${2:-} \${PHASE_TIMES[*]}" >'${dir}/ready'; ${record('$1 ${2:-}')}; }`,
    `signal_cloudformation() { ${record('signal $1')}; }`,
    `LOG_FILE=/dev/null`,
    'flush_log() { :; }',
    'apt_tools_installed() { false; }',
    ...RUNNER.map(functionText),
    ...phaseFunctions,
    `trap 'on_failure $? "$BASH_COMMAND"' ERR`,
    'run_bootstrap',
  ].join('\n');
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60000 });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);
  return {
    status: result.status ?? -1,
    events: (read(events) ?? '').trim().split('\n').filter(Boolean),
    log: result.stderr,
    ready: read(path.join(dir, 'ready'))?.trim(),
  };
}

const PARAMS = { app: 'demo', role: 'standalone' as const, pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'], venv: '/opt/dask/venv' };

describe('what need not wait does not wait', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-order-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('apt installs first only what the venv and pip need; pip and boto3 come from apt in a phase of their own', () => {
    // GIVEN a machine's parameters
    const parameters = renderParameters(PARAMS);
    // THEN the apt phase installs Python and its venv module, the apt-tools phase the rest
    expect(parameters).toContain("DASKLAB_APT_PACKAGES=('python3.12' 'python3.12-venv')");
    expect(parameters).toContain("DASKLAB_APT_TOOLS=('python3-pip' 'python3-boto3')");
    expect(phasesOf(PARAMS).slice(0, 4)).toEqual(['apt', 'apt-tools', 'venv', 'pip']);
  });

  test('the venv phase runs while apt installs its tools; pip waits for them', () => {
    // GIVEN an apt-tools phase that can finish only once the venv phase has started
    const venvStarted = path.join(root, 'venv-started');
    const phases = phasesOf(PARAMS);
    const run = runBootstrap(root, phases, {
      'apt-tools': `for _ in $(seq 100); do [[ -e '${venvStarted}' ]] && break; sleep 0.1; done; [[ -e '${venvStarted}' ]]; sleep 0.5`,
      venv: `touch '${venvStarted}'`,
    });
    // THEN the bootstrap succeeds: apt-tools did not hold up the venv
    expect(run.log).not.toContain('FAILED');
    expect(run.status).toBe(0);
    const at = (e: string) => run.events.indexOf(e);
    expect(at('start apt-tools')).toBeGreaterThan(at('end apt'));
    expect(at('start venv')).toBeLessThan(at('end apt-tools'));
    // AND pip starts only when apt's tools are in place (nothing installs in the background during pip), and the result is signalled last
    expect(at('start pip')).toBeGreaterThan(at('end apt-tools'));
    expect(at('start verify')).toBeGreaterThan(at('end apt-tools'));
    expect(run.events[run.events.length - 1]).toBe('signal SUCCESS');
    // AND ready.json has the time of every phase, the background one too
    for (const phase of phases) expect(run.ready).toMatch(new RegExp(`(^| )${phase}=\\d+( |$)`));
  });

  test('a phase that fails in the background fails the bootstrap, naming that phase', () => {
    // GIVEN an apt-tools phase that fails
    const run = runBootstrap(root, phasesOf(PARAMS), { 'apt-tools': 'false' });
    // THEN the bootstrap fails, reporting apt-tools as the failed phase, and never signals success
    expect(run.status).not.toBe(0);
    expect(run.ready).toMatch(/^failed apt-tools/);
    expect(run.events).toContain('signal FAILURE');
    expect(run.events).not.toContain('signal SUCCESS');
    expect(run.events).not.toContain('start verify');
  });

  test('a phase that fails while a background phase runs waits for it before reporting, so apt is not cut short', () => {
    // GIVEN a pip phase that fails while apt-tools is still installing
    const run = runBootstrap(root, phasesOf(PARAMS), { 'apt-tools': 'sleep 1', pip: 'false' });
    // THEN pip is the failed phase, reported after apt-tools finished
    expect(run.status).not.toBe(0);
    expect(run.ready).toMatch(/^failed pip/);
    expect(run.events.indexOf('end apt-tools')).toBeGreaterThan(-1);
    expect(run.events.indexOf('end apt-tools')).toBeLessThan(run.events.indexOf('failed pip'));
  });
});

describe('nothing is done twice', () => {
  test('verify makes no second venv: the venv phase already made one with python3 as the login user', () => {
    // GIVEN the verify phase as written
    const verify = functionText('phase_verify');
    const called = [...verify.matchAll(/^\s+([a-z_]+)\b/gm)].map((m) => m[1]);
    // THEN none of the functions it calls runs `python3 -m venv`
    for (const fn of called.filter((name) => new RegExp(`^${name}\\(\\) \\{`, 'm').test(SCRIPT))) {
      expect(`${fn}: ${functionText(fn)}`).not.toMatch(/-m venv/);
    }
  });
});
