/**
 * The pip phase's use of the app's version set (userdata/bootstrap.sh), run by
 * bash on this machine: which calls to Parameter Store a machine makes, by what
 * the sets held when pip resolved. A set never changes once made, so a machine
 * reads the sets a second time (pip_align) only when one that could pin what
 * it installed was missing, and shares its own only when its kind has none.
 * Stand-ins: `version_set` answers from the given sets and records each call;
 * `pip_install` does nothing; `pip_freeze` writes a freeze of numpy; `log` and
 * `retry` are quiet and immediate.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
const SETS = ['/dasklab/app/python/0123456789ab/jupyter', '/dasklab/app/python/0123456789ab/base'];

function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(BOOTSTRAP);
  if (match === null) throw new Error(`userdata/bootstrap.sh has no function ${name}`);
  return match[0];
}

interface Machine {
  /** This machine's kind: 0 (JupyterLab) or 1 (base). */
  readonly own: 0 | 1;
  /** The kinds whose sets exist before the machine runs. */
  readonly existing: readonly (0 | 1)[];
  /** The venv was made in this run. */
  readonly newVenv: boolean;
  /** What `version_set put` exits with (3: another machine shared first; 1: refused). */
  readonly putStatus?: number;
}

/** Runs phase_pip for `machine`; returns the version_set calls it made ("get" or "put <kind>"). */
function callsOf(machine: Machine): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-version-set-'));
  try {
    const script = [
      'set -Eeuo pipefail',
      `STATE_DIR='${dir}'`,
      `PACKAGES_STAMP='${dir}/stamp'`,
      `VERSION_PINS='${dir}/pins' VERSION_FREEZE='${dir}/freeze' VENV_NEW='${dir}/venv-new'`,
      /^readonly PIN_PATTERN=.*$/m.exec(BOOTSTRAP)![0],
      "DASKLAB_PIP_INDEX_URL='' DASKLAB_PIP_PACKAGES=(numpy)",
      `DASKLAB_VERSION_SETS=(${SETS.map((s) => `'${s}'`).join(' ')}) DASKLAB_VERSION_SET_OWN=${machine.own}`,
      machine.newVenv ? `: >'${dir}/venv-new'` : '',
      'log() { :; }',
      'sleep() { :; }',
      // The sets before the machine runs, plus the one it shares.
      `EXISTING=" ${machine.existing.join(' ')} "`,
      'version_set() {',
      `  if [[ "$1" == put ]]; then echo "put \${2##*/}" >>'${dir}/calls'; return ${machine.putStatus ?? 0}; fi`,
      `  echo get >>'${dir}/calls'`,
      '  local i found=()',
      '  for i in 0 1; do [[ "$EXISTING" == *" $i "* ]] && found+=("$i"); done',
      '  echo "# found ${found[*]}"',
      '  for i in 0 1; do [[ "$EXISTING" == *" $i "* ]] && echo "numpy==2.2.1" || echo; done',
      '}',
      'pip_install() { :; }',
      `pip_freeze() { echo "numpy==2.2.1" >'${dir}/freeze'; }`,
      ...['retry', 'packages_fingerprint', 'version_pins', 'version_set_found', 'version_sets_settled', 'pip_align', 'phase_pip'].map(functionText),
      'phase_pip',
    ].join('\n');
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`phase_pip failed (${run.status}): ${run.stderr}`);
    return fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : [];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the version set: each call to Parameter Store only where it can change something', () => {
  test.each<[string, Machine, string[]]>([
    ['the first machine of a base-only app reads, shares, and is done', { own: 1, existing: [], newVenv: true }, ['get', 'put base']],
    ['a later base machine reads, installs the set\'s versions, and is done', { own: 1, existing: [1], newVenv: true }, ['get']],
    ['a JupyterLab machine that shares its kind after the base kind\'s set was read is done', { own: 0, existing: [1], newVenv: true }, ['get', 'put jupyter']],
    ['a JupyterLab machine that read no base set reads again: the base kind\'s may have come and wins', { own: 0, existing: [], newVenv: true }, ['get', 'put jupyter', 'get']],
    ['a machine whose share was refused reads again', { own: 1, existing: [], newVenv: true, putStatus: 1 }, ['get', 'put base', 'get']],
    ['a machine that lost the race to share reads the winner\'s set', { own: 1, existing: [], newVenv: true, putStatus: 3 }, ['get', 'put base', 'get']],
    ['a venv it did not make is never shared; with no set yet it reads again', { own: 1, existing: [], newVenv: false }, ['get', 'get']],
    ['a later JupyterLab machine with both sets there reads once', { own: 0, existing: [0, 1], newVenv: true }, ['get']],
  ])('%s', (_, machine, calls) => {
    expect(callsOf(machine)).toEqual(calls);
  });
});
