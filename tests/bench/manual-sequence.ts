import { Twin, TwinMachine } from '../twin/launcher';
import { PIP_INDEX_URL } from '../twin/network';
import { round } from './stats';

/**
 * What a person types today on a fresh Ubuntu machine to get numpy and dask in
 * a venv, as the twin runs it: the apt commands as root (sudo), the rest as
 * `ubuntu` in their home. pip uses the twin's index instead of PyPI (the only
 * difference from what the person types), with pip's own defaults otherwise;
 * apt installs Recommends, as a plain `apt-get install` does. The extras of dask
 * are those the twin's index can serve (tests/twin/deviations.ts).
 */

export interface ManualStep {
  /** What the person types. */
  typed: string;
  /** What the twin runs. */
  argv: string[];
  user?: string;
}

const HOME = '/home/ubuntu';
const asUbuntu = (cmd: string) => ['bash', '-c', `cd ${HOME} && ${cmd}`];

/**
 * The steps. `venvPackage` is the package that provides `python3 -m venv`:
 * python3-venv, or the versioned python3.X-venv it stands for when the apt
 * repository does not carry the unversioned one.
 */
export function manualSteps(venvPackage: string): ManualStep[] {
  const pip = `${HOME}/env/bin/pip install --index-url ${PIP_INDEX_URL}`;
  return [
    { typed: 'sudo apt-get update', argv: ['apt-get', 'update'] },
    {
      typed: 'sudo apt-get install -y python3-venv python3-pip',
      argv: ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', venvPackage, 'python3-pip'],
    },
    { typed: 'python3 -m venv ~/env', argv: asUbuntu(`python3 -m venv ${HOME}/env`), user: 'ubuntu' },
    { typed: '~/env/bin/pip install numpy', argv: asUbuntu(`${pip} numpy`), user: 'ubuntu' },
    { typed: "~/env/bin/pip install 'dask[array,distributed]'", argv: asUbuntu(`${pip} 'dask[array,distributed]'`), user: 'ubuntu' },
  ];
}

/** Not timed: that the sequence produced what the bootstrap produces. */
export const MANUAL_CHECK: ManualStep = {
  typed: "~/env/bin/python -c 'import numpy, dask, distributed'",
  argv: asUbuntu(`${HOME}/env/bin/python -c 'import numpy, dask, distributed; print(numpy.__version__, dask.__version__)'`),
  user: 'ubuntu',
};

export interface ManualStepResult {
  typed: string;
  seconds: number;
  ok: boolean;
  exitCode: number;
  /** Output tail when it failed. */
  tail?: string;
}

export interface ManualResult {
  /** The fresh machine: container start until cloud-init ran its user data (a person could log in). */
  bootSeconds: number;
  steps: ManualStepResult[];
  commandsSeconds: number;
  /** bootSeconds + commandsSeconds: comparable to the bootstrap machine's container-start-to-signal. */
  totalSeconds: number;
  /** Set when the apt repository has no python3-venv and its versioned package was installed instead. */
  substitution?: string;
  check: { ok: boolean; output: string };
}

async function sh(twin: Twin, m: TwinMachine, cmd: string): Promise<{ code: number; out: string }> {
  const r = await twin.exec(m, ['bash', '-c', cmd], { timeoutMs: 5 * 60 * 1000 });
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

/** Runs the manual sequence on the baseline machine, timing each step. */
export async function runManual(twin: Twin, baseline: TwinMachine, bootSeconds: number, log: (m: string) => void): Promise<ManualResult> {
  const steps: ManualStepResult[] = [];
  let substitution: string | undefined;
  const timed = async (typed: string, argv: string[], user?: string) => {
    log(`manual: ${typed}`);
    const started = Date.now();
    const r = await twin.exec(baseline, argv, { user, timeoutMs: 20 * 60 * 1000 });
    const result: ManualStepResult = { typed, seconds: round((Date.now() - started) / 1000, 1), ok: r.code === 0, exitCode: r.code };
    if (!result.ok) result.tail = (r.stdout + r.stderr).trim().split('\n').slice(-8).join('\n');
    steps.push(result);
    return result.ok;
  };
  const update = manualSteps('python3-venv')[0];
  let ok = await timed(update.typed, update.argv, update.user);
  // Decided after `apt-get update` (untimed): which package gives `python3 -m venv` here.
  let venvPackage = 'python3-venv';
  if (ok && (await sh(twin, baseline, "apt-cache policy python3-venv | grep -Eq 'Candidate: [^(]'")).code !== 0) {
    venvPackage = (await sh(twin, baseline, `python3 -c 'import sys; print("python3.%d-venv" % sys.version_info[1])'`)).out;
    substitution = `the twin's apt repository has no python3-venv; installed ${venvPackage}, which python3-venv depends on`;
  }
  for (const step of manualSteps(venvPackage).slice(1)) {
    if (!ok) break;
    ok = await timed(step.typed, step.argv, step.user);
  }
  const check = await twin.exec(baseline, MANUAL_CHECK.argv, { user: MANUAL_CHECK.user, timeoutMs: 5 * 60 * 1000 });
  const commandsSeconds = round(steps.reduce((t, s) => t + s.seconds, 0), 1);
  return {
    bootSeconds: round(bootSeconds, 1),
    steps,
    commandsSeconds,
    totalSeconds: round(bootSeconds + commandsSeconds, 1),
    substitution,
    check: { ok: check.code === 0, output: (check.stdout + check.stderr).trim().split('\n').slice(-3).join('\n') },
  };
}
