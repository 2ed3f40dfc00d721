import { formatResults, SignalResult, Twin } from './launcher';

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
