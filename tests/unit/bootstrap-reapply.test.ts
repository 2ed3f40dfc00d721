/**
 * What the bootstrap (userdata/bootstrap.sh) does when a deploy changes a
 * machine's settings, run by bash on this machine with the functions as
 * written: idle stop that the config no longer asks for is turned off, and the
 * package check skips a requirement whose environment marker is false, as pip
 * does. Stand-ins: `systemctl` (records its calls), `log`, `as_user`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

const SCRIPT = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');

/** The text of a top-level bash function of the bootstrap, `name() {` to its closing `}`. */
function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(SCRIPT);
  if (match === null) throw new Error(`userdata/bootstrap.sh has no function ${name}`);
  return match[0];
}

/** Runs `body` after the named functions, with `systemctl` recording its arguments in `calls`. */
function runBash(dir: string, functions: string[], body: string[]): { status: number; log: string; calls: string } {
  const calls = path.join(dir, 'systemctl-calls');
  const script = [
    'set -Eeuo pipefail',
    `systemctl() { echo "$*" >>'${calls}'; }`,
    'log() { printf "%s\\n" "$*" >&2; }',
    'as_user() { "$@"; }',
    ...functions.map(functionText),
    ...body,
  ].join('\n');
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  return { status: result.status ?? -1, log: result.stderr, calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '' };
}

describe('a deploy that changes the settings', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-reapply-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('idle stop that an earlier deploy enabled is turned off when the config no longer asks for it', () => {
    // GIVEN a machine whose earlier bootstrap installed the idle timer
    fs.writeFileSync(path.join(root, 'dasklab-idle.timer'), '[Timer]\n');
    fs.writeFileSync(path.join(root, 'dasklab-idle.service'), '[Service]\n');
    // WHEN the bootstrap runs with no idle phase (lab.idleStopMinutes 0)
    const { status, calls } = runBash(root, ['stop_idle_timer'], [`UNIT_DIR='${root}'`, 'stop_idle_timer']);
    // THEN the timer is disabled and stopped, and its units are gone
    expect(status).toBe(0);
    expect(calls).toBe('disable --now dasklab-idle.timer\ndaemon-reload\n');
    expect(fs.readdirSync(root).filter((f) => f.startsWith('dasklab-idle'))).toEqual([]);
  });

  test('a machine that never had idle stop is left alone', () => {
    const { status, calls } = runBash(root, ['stop_idle_timer'], [`UNIT_DIR='${root}'`, 'stop_idle_timer']);
    expect(status).toBe(0);
    expect(calls).toBe('');
  });

  test('the run turns idle stop off only when the idle phase is not in the user data', () => {
    // GIVEN the bootstrap's own run, THEN it calls stop_idle_timer unless `idle` is a phase
    const run = functionText('run_bootstrap');
    expect(run).toContain('if [[ " ${DASKLAB_PHASES[*]} " != *" idle "* ]]; then stop_idle_timer; fi');
  });

  const pythonHasPackaging = spawnSync('python3', ['-c', 'import packaging.requirements']).status === 0;
  (pythonHasPackaging ? test : test.skip)('the package check skips a requirement whose environment marker is false, as pip does', () => {
    // GIVEN a venv python stand-in that has `packaging` where pip vendors it
    const vendored = path.join(root, 'site', 'pip', '_vendor');
    fs.mkdirSync(vendored, { recursive: true });
    fs.writeFileSync(path.join(root, 'site', 'pip', '__init__.py'), '');
    fs.writeFileSync(path.join(vendored, '__init__.py'), '');
    fs.writeFileSync(path.join(vendored, 'packaging.py'), 'import sys, packaging\nsys.modules[__name__] = packaging\nimport packaging.requirements\n');
    fs.mkdirSync(path.join(root, 'venv', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(root, 'venv', 'bin', 'python'), `#!/bin/bash\nPYTHONPATH='${path.join(root, 'site')}' exec python3 "$@"\n`, { mode: 0o755 });
    const check = (packages: string[]) =>
      runBash(root, ['verify_packages'], [
        `DASKLAB_VENV='${path.join(root, 'venv')}'`,
        `DASKLAB_PIP_PACKAGES=(${packages.map((p) => `'${p}'`).join(' ')})`,
        'verify_packages',
      ]);
    // WHEN a requirement for another platform is listed THEN the check passes
    expect(check(['pywin32; sys_platform == "win32"']).status).toBe(0);
    // AND a requirement for this platform that is missing still fails, naming it
    const missing = check(['surely-not-installed-dasklab; sys_platform == "linux"']);
    expect(missing.status).not.toBe(0);
    expect(missing.log).toContain('surely-not-installed-dasklab; sys_platform == "linux": not installed');
  });
});
