/**
 * The pip phase's use of the app's version set (userdata/bootstrap.sh), run by
 * bash on this machine: which calls to Parameter Store a machine makes. It
 * reads the sets before pip resolves, shares its own kind's when its venv is
 * new, and reads them again after (pip_align): another machine may have shared
 * its kind's set at the same moment, or the base kind's set, which wins for
 * the packages both kinds install, may have come meanwhile.
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
  /** What `version_set put` exits with when the kind has no set yet (1: refused); 3 where it has one. */
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
      '  local i',
      `  if [[ "$1" == put ]]; then`,
      `    echo "put \${2##*/}" >>'${dir}/calls'`,
      '    for i in 0 1; do [[ "$2" == "${DASKLAB_VERSION_SETS[$i]}" && "$EXISTING" == *" $i "* ]] && return 3; done',
      `    return ${machine.putStatus ?? 0}`,
      '  fi',
      `  echo get >>'${dir}/calls'`,
      '  for i in 0 1; do [[ "$EXISTING" == *" $i "* ]] && echo "numpy==2.2.1" || echo; done',
      '}',
      'pip_install() { :; }',
      `pip_freeze() { echo "numpy==2.2.1" >'${dir}/freeze'; }`,
      ...['retry', 'packages_fingerprint', 'version_pins', 'pip_align', 'phase_pip'].map(functionText),
      'phase_pip',
    ].join('\n');
    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`phase_pip failed (${run.status}): ${run.stderr}`);
    return fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : [];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the version set: read before pip, shared when new, read again after', () => {
  test.each<[string, Machine, string[]]>([
    ['the first machine of a base-only app', { own: 1, existing: [], newVenv: true }, ['get', 'put base', 'get']],
    ['a later base machine: its share is refused as the set exists, and it reads the set that was there first', { own: 1, existing: [1], newVenv: true }, ['get', 'put base', 'get']],
    ['a JupyterLab machine: it shares its kind and reads the base kind\'s again', { own: 0, existing: [1], newVenv: true }, ['get', 'put jupyter', 'get']],
    ['a machine whose share was refused', { own: 1, existing: [], newVenv: true, putStatus: 1 }, ['get', 'put base', 'get']],
    ['a venv it did not make is never shared', { own: 1, existing: [], newVenv: false }, ['get', 'get']],
  ])('%s', (_, machine, calls) => {
    expect(callsOf(machine)).toEqual(calls);
  });
});
