import { SignalResult, Twin } from './launcher';
import { diagnostics, report, twinDescribe } from './support';

/**
 * A Dask cluster (scheduler + 2 workers) from the app's cluster config: every
 * machine signals SUCCESS, the scheduler only after every worker joined, and a
 * client on the scheduler computes on both workers.
 */
twinDescribe('twin: Dask cluster', () => {
  let twin: Twin;
  let results: SignalResult[];

  beforeAll(async () => {
    twin = await Twin.start({
      stack: 'dasklab-Cluster',
      context: { config: 'tests/twin/fixtures/cluster.config.json' },
      // Ready in about 70 s on 2 cores; the margin covers a slow CI machine
      // without letting a hung bootstrap eat the CI budget.
      timeoutSeconds: 480,
    });
    results = await twin.waitForSignals();
    await report(twin, results);
  });

  afterAll(async () => {
    await twin?.stop();
  });

  test('one scheduler and two workers, all signal SUCCESS', async () => {
    expect(twin.machines.map((m) => m.role).sort()).toEqual(['scheduler', 'worker', 'worker']);
    const failed = results.filter((r) => r.status !== 'SUCCESS');
    if (failed.length) {
      throw new Error(`${failed.map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n')}\n${await diagnostics(twin)}`);
    }
    const scheduler = twin.machines.find((m) => m.role === 'scheduler')!;
    expect(Object.keys((await twin.readyJson(scheduler)).phases)).toContain('cluster');
  });

  test('a client on the scheduler runs a task on each worker', async () => {
    const scheduler = twin.machines.find((m) => m.role === 'scheduler')!;
    const workers = twin.machines.filter((m) => m.role === 'worker');
    const script = [
      'import socket',
      'from distributed import Client',
      `with Client("tcp://${scheduler.ip}:8786", timeout=30) as c:`,
      '    addrs = list(c.scheduler_info()["workers"])',
      '    hosts = c.gather([c.submit(socket.gethostname, workers=[a], pure=False) for a in addrs])',
      '    print(" ".join(sorted(hosts)))',
    ].join('\n');
    const r = await twin.exec(scheduler, ['/opt/dask/venv/bin/python', '-'], { user: 'ubuntu', input: script });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(workers.map((w) => w.hostname).sort().join(' '));
  });
});
