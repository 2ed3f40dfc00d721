import { SignalResult, Twin, TwinMachine } from './launcher';
import { RunResult, sleep } from './proc';
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

  test('an array reduction uses both workers (the scheduler\'s task stream)', async () => {
    const scheduler = machine('scheduler');
    const names = await workerNames();
    // The task stream is the scheduler's record of every finished task, with
    // the worker that ran it.
    const script = [
      'import json, collections',
      'import dask.array as da',
      'from distributed import Client, get_task_stream',
      `with Client("tcp://${scheduler.ip}:8786", timeout=30) as c:`,
      '    names = {a: w["name"] for a, w in c.scheduler_info()["workers"].items()}',
      '    with get_task_stream(c) as ts:',
      '        total = da.random.random((4000, 4000), chunks=500).sum().compute()',
      '    per = collections.Counter((r["key"][0] if isinstance(r["key"], tuple) else r["key"]).rsplit("-", 1)[0] + "@" + names.get(r["worker"], r["worker"]) for r in ts.data)',
      '    print(json.dumps({"total": total, "tasks": len(ts.data), "per": per}))',
    ].join('\n');
    const r = await pyOn(scheduler, script);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    process.stderr.write(`\narray reduction: sum ${out.total.toFixed(0)} from ${out.tasks} tasks: ${JSON.stringify(out.per)}\n`);
    // 64 chunks of uniform [0, 1) numbers: the sum is near 8e6.
    expect(Math.abs(out.total - 8e6)).toBeLessThan(1e5);
    for (const name of Object.values(names)) {
      const chunks = Object.entries<number>(out.per).filter(([k]) => k.startsWith('random_sample') && k.endsWith(`@${name}`));
      expect({ name, chunks: chunks.reduce((t, [, n]) => t + n, 0) > 0 }).toEqual({ name, chunks: true });
    }
  });

  test('the template\'s security groups are enforced between the machines', async () => {
    const scheduler = machine('scheduler');
    const [w1, w2] = twin.machines.filter((m) => m.role === 'worker');
    // Listeners on ports the groups do not open, so that only the firewall can stop a connection.
    await listen(scheduler, 8787);
    await listen(scheduler, 8790);
    await listen(w2, 22);
    const probes = await probe(w1, [
      [scheduler.ip, 8786], // scheduler port: open to members
      [w2.ip, 8788], // worker port: open to members
      [w2.ip, 8789], // nanny port: open to members
      [scheduler.ip, 8787], // dashboard: only from dashboardCidrs (none)
      [scheduler.ip, 8790], // nothing opens it
      [w2.ip, 22], // SSH: only from sshCidrs (none)
      [w2.serviceIp, 8788], // the twin's service addresses are not the VPC's
    ]);
    // The listeners answer where no firewall is in the way: on the machine itself.
    expect(await probe(scheduler, [[scheduler.ip, 8787], [scheduler.ip, 8790]])).toEqual([`${scheduler.ip}:8787 open`, `${scheduler.ip}:8790 open`]);
    expect(probes).toEqual([
      `${scheduler.ip}:8786 open`,
      `${w2.ip}:8788 open`,
      `${w2.ip}:8789 open`,
      `${scheduler.ip}:8787 blocked`,
      `${scheduler.ip}:8790 blocked`,
      `${w2.ip}:22 blocked`,
      `${w2.serviceIp}:8788 blocked`,
    ]);
  });

  test('a killed worker process is restarted by systemd and rejoins', async () => {
    const scheduler = machine('scheduler');
    const worker = twin.machines.filter((m) => m.role === 'worker')[0];
    const name = (await workerNames())[worker.logicalId];
    const before = await waitForWorkers(scheduler, { [name]: null }, 30);
    const mainPid = await unitProperty(worker, 'MainPID');
    const restarts = Number(await unitProperty(worker, 'NRestarts'));
    expect(Number(mainPid)).toBeGreaterThan(0);
    const killed = Date.now();
    const k = await twin.exec(worker, ['kill', '-9', mainPid]);
    expect(k.code).toBe(0);
    // Back when the scheduler knows a worker of that name in another process.
    // The orphaned worker process outlives its nanny until systemd's stop
    // timeout (TimeoutStopSec, 90 s by default) kills it; the restart follows.
    const after = await waitForWorkers(scheduler, { [name]: before.pids[name] }, 180);
    const seconds = (Date.now() - killed) / 1000;
    process.stderr.write(`\nworker ${name}: nanny pid ${mainPid} killed (SIGKILL); rejoined ${seconds.toFixed(1)} s later (worker pid ${before.pids[name]} -> ${after.pids[name]})\n`);
    expect(Number(await unitProperty(worker, 'NRestarts'))).toBeGreaterThan(restarts);
    expect(await unitProperty(worker, 'MainPID')).not.toBe(mainPid);
  });

  test('after a scheduler restart every worker reconnects without help', async () => {
    const scheduler = machine('scheduler');
    const names = Object.values(await workerNames());
    const before = await waitForWorkers(scheduler, Object.fromEntries(names.map((n) => [n, null])), 60);
    const restarted = Date.now();
    const r = await twin.exec(scheduler, ['systemctl', 'restart', 'dask-scheduler.service']);
    expect(r.code).toBe(0);
    const after = await waitForWorkers(scheduler, Object.fromEntries(names.map((n) => [n, null])), 180);
    const seconds = (Date.now() - restarted) / 1000;
    const newProcesses = names.filter((n) => after.pids[n] !== before.pids[n]);
    process.stderr.write(`\nscheduler restarted: ${names.join(', ')} reconnected ${seconds.toFixed(1)} s later; ` +
      `new worker processes: ${newProcesses.join(', ') || 'none'} (${JSON.stringify(before.pids)} -> ${JSON.stringify(after.pids)})\n`);
    // And they compute: a task on each.
    const script = [
      'import socket',
      'from distributed import Client',
      `with Client("tcp://${scheduler.ip}:8786", timeout=30) as c:`,
      '    addrs = list(c.scheduler_info()["workers"])',
      '    print(" ".join(sorted(c.gather([c.submit(socket.gethostname, workers=[a], pure=False) for a in addrs]))))',
    ].join('\n');
    const hosts = await pyOn(scheduler, script);
    expect(hosts.stdout.trim()).toBe(twin.machines.filter((m) => m.role === 'worker').map((w) => w.hostname).sort().join(' '));
  });

  // ---- helpers

  function machine(role: string): TwinMachine {
    return twin.machines.find((m) => m.role === role)!;
  }

  /** Runs a python script with the venv's python as ubuntu; fails the test on a non-zero exit. */
  async function pyOn(m: TwinMachine, script: string, args: string[] = [], timeoutMs = 240_000): Promise<RunResult> {
    const r = await twin.exec(m, ['/opt/dask/venv/bin/python', '-', ...args], { user: 'ubuntu', input: script, timeoutMs });
    if (r.code !== 0) throw new Error(`python on ${m.logicalId} exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
    return r;
  }

  /** Each worker machine's Dask worker name (its unit's --name), by logical id. */
  async function workerNames(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const w of twin.machines.filter((m) => m.role === 'worker')) {
      const unit = await twin.exec(w, ['systemctl', 'cat', 'dask-worker.service']);
      const name = /--name\s+(\S+)/.exec(unit.stdout)?.[1];
      if (!name) throw new Error(`no --name in dask-worker.service of ${w.logicalId}:\n${unit.stdout}`);
      out[w.logicalId] = name;
    }
    return out;
  }

  async function unitProperty(m: TwinMachine, prop: string): Promise<string> {
    const r = await twin.exec(m, ['systemctl', 'show', '-p', prop, '--value', 'dask-worker.service']);
    return r.stdout.trim();
  }

  /**
   * Polls the scheduler (reconnecting while it is down) until a worker of each
   * name is connected and, where an old pid is given, runs in another process.
   */
  async function waitForWorkers(scheduler: TwinMachine, want: Record<string, number | null>, timeoutSeconds: number): Promise<{ seconds: number; pids: Record<string, number> }> {
    const script = `
import json, os, sys, time
from distributed import Client
address, timeout, want = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
start = time.monotonic()
last = "never reached the scheduler"
while time.monotonic() - start < timeout:
    try:
        with Client(address, timeout=5) as c:
            while time.monotonic() - start < timeout:
                names = {a: w["name"] for a, w in c.scheduler_info()["workers"].items()}
                if set(want) <= set(names.values()):
                    try:
                        pids = {names[a]: p for a, p in c.run(os.getpid, workers=list(names)).items() if a in names}
                    except Exception as e:
                        last = f"run failed: {e!r}"
                        time.sleep(0.5)
                        continue
                    if all(n in pids and (old is None or pids[n] != old) for n, old in want.items()):
                        print(json.dumps({"seconds": time.monotonic() - start, "pids": pids}))
                        sys.exit(0)
                last = f"workers now: {sorted(names.values())}"
                time.sleep(0.5)
    except (OSError, TimeoutError) as e:
        last = f"scheduler: {e!r}"
        time.sleep(1)
sys.exit(f"timed out after {timeout} s waiting for {want}; last: {last}")
`;
    const r = await pyOn(scheduler, script, [`tcp://${scheduler.ip}:8786`, String(timeoutSeconds), JSON.stringify(want)], (timeoutSeconds + 60) * 1000);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  /** Starts a TCP listener in a machine (a transient unit, gone with the machine). */
  async function listen(m: TwinMachine, port: number): Promise<void> {
    const code = `import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(("0.0.0.0", ${port}))\ns.listen()\nwhile True: s.accept()[0].close()`;
    const local = async () => (await probe(m, [['127.0.0.1', port]]))[0].endsWith(' open');
    if (await local()) return; // something listens there already (the dashboard, say)
    const r = await twin.exec(m, ['systemd-run', `--unit=twin-listen-${port}`, '/usr/bin/python3', '-c', code]);
    if (r.code !== 0) throw new Error(`listener on ${m.logicalId}:${port}: ${r.stderr}`);
    for (let i = 0; i < 50; i++) {
      if (await local()) return;
      await sleep(200);
    }
    throw new Error(`listener on ${m.logicalId}:${port} did not come up`);
  }

  /** TCP connects from a machine: "ip:port open" or "ip:port blocked" (dropped or refused by the firewall). */
  async function probe(m: TwinMachine, targets: [string, number][]): Promise<string[]> {
    const script = `
import errno, socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        state = "open"
    except socket.timeout:
        state = "blocked"  # dropped on the way in
    except PermissionError:
        state = "blocked"  # dropped on the way out (EPERM)
    except ConnectionRefusedError:
        state = "refused"
    finally:
        s.close()
    print(f"{target} {state}")
`;
    const r = await twin.exec(m, ['/usr/bin/python3', '-', ...targets.map(([h, p]) => `${h}:${p}`)], { input: script });
    if (r.code !== 0) throw new Error(`probe on ${m.logicalId}: ${r.stderr}`);
    return r.stdout.trim().split('\n');
  }
});
