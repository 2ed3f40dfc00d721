/**
 * The bootstrap's venv phase (userdata/bootstrap.sh) run by bash on this
 * machine, in a scratch directory: it replaces only a venv it made itself.
 * The phase's functions are taken from the script as written. Stand-ins:
 * `as_user` (no second user here), `log` (to stderr), and the python that
 * makes the venv, which skips ensurepip (tens of seconds per venv) and lends
 * the venv this machine's pip instead.
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

/** Runs the venv phase for `venv`; returns its exit status and what it logged. */
function runVenvPhase(venv: string, stateDir: string): { status: number; log: string } {
  const python = path.join(stateDir, 'python-making-venvs');
  fs.writeFileSync(python, '#!/bin/bash\n# called as: PYTHON -m venv DIR\nexec python3 -m venv --without-pip --system-site-packages "${@:3}"\n', { mode: 0o755 });
  const names = ['venv_healthy', 'venv_replaceable', 'phase_venv'].filter((n) => new RegExp(`^${n}\\(\\) \\{`, 'm').test(SCRIPT));
  const script = [
    'set -Eeuo pipefail',
    `readonly VENV_MARKER=${SCRIPT.includes('VENV_MARKER=') ? /^readonly VENV_MARKER=(.*)$/m.exec(SCRIPT)![1] : '.unused'}`,
    `DASKLAB_VENV='${venv}'`,
    `DASKLAB_USER='${os.userInfo().username}'`,
    "DASKLAB_PYTHON_VERSION=$(python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])')",
    `PYTHON='${path.join(stateDir, 'python-making-venvs')}'`,
    `PACKAGES_STAMP='${stateDir}/pip-packages.stamp'`,
    `VENV_NEW='${stateDir}/venv-new'`,
    'log() { printf "%s\\n" "$*" >&2; }',
    'as_user() { "$@"; }',
    ...names.map(functionText),
    'phase_venv',
  ].join('\n');
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  return { status: result.status ?? -1, log: result.stderr };
}

describe('the venv phase replaces only a venv it made', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-venv-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a directory that is not its venv is refused, with the reason, and left as it was', () => {
    // GIVEN python.venv naming a directory with someone's files (not a venv)
    const venv = path.join(root, 'home-ubuntu');
    fs.mkdirSync(venv);
    fs.writeFileSync(path.join(venv, 'thesis.tex'), 'years of work');
    // WHEN the venv phase runs
    const { status, log } = runVenvPhase(venv, root);
    // THEN it fails, saying why, and removes nothing
    expect(status).not.toBe(0);
    expect(log).toContain(`refusing to replace ${venv}: it is not a venv the bootstrap made (no .dasklab-venv in it); move it away or choose another python.venv`);
    expect(fs.readdirSync(venv)).toEqual(['thesis.tex']);
  });

  test('a broken venv without the marker (made by someone else) is refused too', () => {
    const venv = path.join(root, 'venv');
    fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\n');
    const { status } = runVenvPhase(venv, root);
    expect(status).not.toBe(0);
    expect(fs.existsSync(path.join(venv, 'pyvenv.cfg'))).toBe(true);
  });

  test('a symbolic link is refused and its target left alone', () => {
    const target = path.join(root, 'target');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, '.dasklab-venv'), '');
    fs.writeFileSync(path.join(target, 'keep'), '');
    const venv = path.join(root, 'link');
    fs.symlinkSync(target, venv);
    const { status, log } = runVenvPhase(venv, root);
    expect(status).not.toBe(0);
    expect(log).toContain('is a symbolic link');
    expect(fs.readdirSync(target).sort()).toEqual(['.dasklab-venv', 'keep']);
  });

  test('a new venv is made with the marker; a broken one it made is replaced', () => {
    // GIVEN no venv yet WHEN the phase runs THEN a working venv with the marker is there
    const venv = path.join(root, 'opt', 'dask', 'venv');
    expect(runVenvPhase(venv, root).status).toBe(0);
    expect(fs.existsSync(path.join(venv, '.dasklab-venv'))).toBe(true);
    expect(fs.existsSync(path.join(venv, 'bin', 'python'))).toBe(true);
    // AND the pip phase may share what it installs there: the venv is new (userdata/bootstrap.sh, the version set)
    expect(fs.existsSync(path.join(root, 'venv-new'))).toBe(true);
    // GIVEN it breaks (its python gone) WHEN the phase runs again THEN it is made anew
    fs.rmSync(path.join(venv, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(venv, 'junk'), '');
    const again = runVenvPhase(venv, root);
    expect(again.status).toBe(0);
    expect(fs.existsSync(path.join(venv, 'bin', 'python'))).toBe(true);
    expect(fs.existsSync(path.join(venv, 'junk'))).toBe(false);
    expect(fs.existsSync(path.join(venv, '.dasklab-venv'))).toBe(true);
  });

  test('an empty directory (made for it by someone) is used', () => {
    const venv = path.join(root, 'empty');
    fs.mkdirSync(venv);
    expect(runVenvPhase(venv, root).status).toBe(0);
    expect(fs.existsSync(path.join(venv, '.dasklab-venv'))).toBe(true);
  });
});
