import { formatResults, SignalResult, Twin, TwinMachine } from './launcher';
import { RunResult } from './proc';

/**
 * Shared by the twin tests. The twin needs root: without it the tests are
 * skipped with a message saying so, except under CI (CI=true), where they run
 * and fail, since a skipped twin there would hide that nothing was tested.
 */
export const isRoot = process.getuid?.() === 0;
const mustRun = process.env.CI === 'true';

export function twinDescribe(name: string, body: () => void): void {
  if (isRoot || mustRun) {
    describe(name, body);
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED twin tests "${name}": the twin needs root (debootstrap, netns, systemd-nspawn); run as root or in CI`);
    describe.skip(name, body);
  }
}

/** Prints the results the way the CLI does, so test logs carry the timings. */
export async function report(twin: Twin, results: SignalResult[]): Promise<void> {
  process.stderr.write(`\n${await formatResults(twin, results)}\n`);
}

/** The machine's bootstrap log and console tail, for a failing test's output. */
export async function diagnostics(twin: Twin): Promise<string> {
  const parts: string[] = [];
  for (const m of twin.machines) {
    const log = await twin.exec(m, ['tail', '-n', '60', '/var/log/dasklab/bootstrap.log']).catch((e) => ({ stdout: String(e) }));
    parts.push(`--- ${m.logicalId} bootstrap.log (tail)\n${log.stdout}`);
    // Pending jobs show a bootstrap waiting on a unit that waits on it.
    const jobs = await twin.exec(m, ['systemctl', 'list-jobs', '--no-pager']).catch((e) => ({ stdout: String(e) }));
    parts.push(`--- ${m.logicalId} systemctl list-jobs\n${jobs.stdout}`);
    const dask = await twin.exec(m, ['journalctl', '--no-pager', '-n', '40', '-u', 'dask-scheduler', '-u', 'dask-worker']).catch((e) => ({ stdout: String(e) }));
    parts.push(`--- ${m.logicalId} Dask services' journal (tail)\n${dask.stdout}`);
  }
  return parts.join('\n');
}

/**
 * `systemctl restart UNIT` inside a machine. A restart whose job fails with
 * Result=resources never ran the unit: systemd could not set up its process.
 * That was seen once in CI, on both machines at once. The twin's hosts mount
 * cgroups in hybrid mode, and a container's systemd there races its own removal
 * of a unit's emptied cgroup: restarts that succeed log "Failed to attach … to
 * compat systemd cgroup" in the journal. An EC2 instance (Ubuntu, cgroup v2
 * only) has no compat hierarchy. Such a restart is logged with the unit's
 * journal and made once more; any other failure is returned as it is.
 */
export async function restartUnit(twin: Twin, m: TwinMachine, unit: string, timeoutMs: number): Promise<RunResult> {
  const restart = () => twin.exec(m, ['systemctl', 'restart', unit], { timeoutMs });
  const first = await restart();
  if (first.code === 0) return first;
  const result = (await twin.exec(m, ['systemctl', 'show', '-P', 'Result', unit])).stdout.trim();
  // PID 1's messages about the unit are in its journal too (UNIT=).
  const journal = await twin.exec(m, ['journalctl', '--no-pager', '-n', '30', '-u', unit]);
  process.stderr.write(`\n${m.logicalId}: restart of ${unit} failed (Result=${result}): ${first.stderr.trim()}\n${journal.stdout}\n`);
  if (result !== 'resources') return first;
  await twin.exec(m, ['systemctl', 'reset-failed', unit]);
  return restart();
}
