import { CLIENT_TLS_PARAMETERS, clusterTlsParameterPath } from '../../lib/cluster/cluster-tls';
import { SignalResult, Twin, TWIN_REGION, TwinMachine } from './launcher';
import { AWS_ENDPOINT_URL } from './network';
import { RunResult, sleep } from './proc';
import { diagnostics, report, restartUnit, twinDescribe } from './support';

/** What the scheduler publishes for the members and `dasklab tls-client`, below the cluster's parameter path. */
const TLS_PARAMETERS = ['ca-cert', 'worker-cert', 'worker-key', 'client-cert', 'client-key'];

/**
 * A Dask cluster (scheduler + 2 spot workers) from the app's cluster config, with
 * mutual TLS (the default): every machine signals SUCCESS, the scheduler only
 * after every worker joined over TLS, and a client on the scheduler computes on
 * both workers. Clients without the cluster's certificates are refused.
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
    // The workers are the template's spot machines (custom resources on AWS), booted like instances.
    expect(twin.machines.filter((m) => m.role === 'worker').map((m) => m.logicalId)).toEqual([
      expect.stringMatching(/^Worker1SpotInstance/),
      expect.stringMatching(/^Worker2SpotInstance/),
    ]);
    const failed = results.filter((r) => r.status !== 'SUCCESS');
    if (failed.length) {
      throw new Error(`${failed.map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n')}\n${await diagnostics(twin)}`);
    }
    const scheduler = twin.machines.find((m) => m.role === 'scheduler')!;
    expect(Object.keys((await twin.readyJson(scheduler)).phases)).toContain('cluster');
    // How the readiness check went (a lost connection shows as "tasks lost").
    const log = await twin.exec(scheduler, ['grep', '-E', '^cluster: |\\[(tls|cluster)\\] ', '/var/log/dasklab/bootstrap.log']);
    process.stderr.write(`\nscheduler's tls and cluster phases:\n${log.stdout}`);
    for (const w of twin.machines.filter((m) => m.role === 'worker')) {
      const wlog = await twin.exec(w, ['grep', '-E', '\\[tls\\] ', '/var/log/dasklab/bootstrap.log']);
      process.stderr.write(`${w.logicalId}'s tls phase:\n${wlog.stdout}`);
    }
  });

  test('a client on the scheduler runs a task on each worker', async () => {
    expect(await hostsOfATaskOnEachWorker()).toBe(workerHostnames());
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
      `with Client("${address()}", timeout=30) as c:`,
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

  test('the cluster runs over TLS: the scheduler listens on tls:// and knows every worker by a tls:// address', async () => {
    const scheduler = machine('scheduler');
    // The scheduler's own view, from inside its process.
    const script = [
      'import json',
      'from distributed import Client',
      `with Client("${address()}", timeout=30) as c:`,
      '    print(json.dumps(c.run_on_scheduler(lambda dask_scheduler: {"address": dask_scheduler.address, "listeners": [l.listen_address for l in dask_scheduler.listeners], "workers": {w.name: w.address for w in dask_scheduler.workers.values()}, "nannies": sorted(w.nanny for w in dask_scheduler.workers.values())})))',
    ].join('\n');
    const view = JSON.parse((await pyOn(scheduler, script)).stdout.trim().split('\n').pop()!);
    process.stderr.write(`\nscheduler's view: ${JSON.stringify(view)}\n`);
    // Its own address names its host as it resolves its name (the twin's /etc/hosts: 127.0.1.1); the scheme and port are what count.
    expect(view.address).toMatch(/^tls:\/\/[\d.]+:8786$/);
    expect(view.listeners).toEqual([expect.stringMatching(/^tls:\/\/[\d.]*:8786$/)]);
    const workers = twin.machines.filter((m) => m.role === 'worker');
    expect(Object.keys(view.workers).sort()).toEqual(Object.values(await workerNames()).sort());
    expect(Object.values<string>(view.workers).sort()).toEqual(workers.map((w) => `tls://${w.ip}:8788`).sort());
    expect(view.nannies).toEqual(workers.map((w) => `tls://${w.ip}:8789`).sort());
  });

  test('the scheduler published the CA and the worker and client certificates as SecureString parameters, and never the CA key', async () => {
    const scheduler = machine('scheduler');
    const path = clusterTlsParameterPath('dasklab');
    const found = await twin.moto.getParameters(TWIN_REGION, TLS_PARAMETERS.map((n) => `${path}/${n}`));
    expect(found.map((p) => [p.name, p.type]).sort()).toEqual(TLS_PARAMETERS.map((n) => [`${path}/${n}`, 'SecureString']).sort());
    // Every member uses the published CA.
    const published = found.find((p) => p.name.endsWith('/ca-cert'))!.value;
    for (const m of twin.machines) {
      const onDisk = await twin.exec(m, ['cat', '/etc/dask/tls/ca-cert.pem']);
      expect({ machine: m.logicalId, same: onDisk.stdout.trim() === published.trim() }).toEqual({ machine: m.logicalId, same: true });
    }
    // The machines wrote nothing else there (only the scheduler writes, and only these names).
    const writes = twin.services.ssmCalls.filter((c) => c.action === 'PutParameter' && c.names.some((n) => n.startsWith(`${path}/`)));
    expect(new Set(writes.map((c) => c.instanceId))).toEqual(new Set([scheduler.instanceId]));
    expect([...new Set(writes.flatMap((c) => c.names))].sort()).toEqual(TLS_PARAMETERS.map((n) => `${path}/${n}`).sort());
    // Keys: root and the Dask user only; no CA key anywhere on the scheduler.
    const modes = await twin.exec(scheduler, ['sh', '-c', 'stat -c "%n %a %U:%G" /etc/dask/tls /etc/dask/tls/*']);
    const byName = Object.fromEntries(modes.stdout.trim().split('\n').map((l) => l.split(' ')).map(([n, ...rest]) => [n, rest.join(' ')]));
    expect(byName).toEqual({
      '/etc/dask/tls': '750 root:ubuntu',
      '/etc/dask/tls/ca-cert.pem': '644 root:root',
      ...Object.fromEntries(['scheduler', 'worker', 'client'].flatMap((role) => [
        [`/etc/dask/tls/${role}-cert.pem`, '644 root:root'],
        [`/etc/dask/tls/${role}-key.pem`, '640 root:ubuntu'],
      ])),
    });
    // The CA's key would be a PEM private key like these (ssh host keys are OpenSSH's own format).
    const keys = await twin.exec(scheduler, ['sh', '-c', 'grep -rlxE -- "-----BEGIN (EC )?PRIVATE KEY-----" /etc /var /root /home /tmp 2>/dev/null | sort']);
    expect(keys.stdout.trim().split('\n')).toEqual(['scheduler', 'worker', 'client'].map((r) => `/etc/dask/tls/${r}-key.pem`).sort());
  });

  test('every machine runs the app\'s version set: the first machine shared what pip installed, and all three installed the same versions', async () => {
    // GIVEN the version set the machines share (lib/machine/version-set.ts)
    const [scheduler, ...workers] = [machine('scheduler'), ...twin.machines.filter((m) => m.role === 'worker')];
    const ready = await Promise.all([scheduler, ...workers].map((m) => twin.readyJson(m)));
    const parameter = ready[0].versionSet.parameter as string;
    expect(parameter).toMatch(/^\/dasklab\/dasklab\/python\/[0-9a-f]{12}\/base$/);
    const [stored] = await twin.moto.getParameters(TWIN_REGION, [parameter]);
    const storedVersions = Object.fromEntries(stored.value.trim().split('\n').map((line) => line.split('==')));
    // THEN each machine's ready.json names that set and holds its versions, dask and distributed among them
    for (const [i, m] of [scheduler, ...workers].entries()) {
      expect({ m: m.logicalId, set: ready[i].versionSet }).toEqual({ m: m.logicalId, set: { parameter, packages: storedVersions } });
    }
    expect(Object.keys(storedVersions)).toEqual(expect.arrayContaining(['dask', 'distributed', 'numpy']));
    // AND exactly one machine wrote the set: the others found it taken
    const puts = twin.services.ssmCalls.filter((c) => c.action === 'PutParameter' && c.names.includes(parameter));
    expect(puts.filter((c) => c.status === 200)).toHaveLength(1);
  });

  test('a worker may read the certificate parameters but not overwrite them: its role only reads', async () => {
    // GIVEN a worker (any task on it could run this, with the role's credentials from IMDS)
    const [worker] = twin.machines.filter((m) => m.role === 'worker');
    const path = clusterTlsParameterPath('dasklab');
    const script = [
      'import sys, boto3, botocore.exceptions',
      'ssm = boto3.client("ssm", region_name=sys.argv[1])',
      'print("read", len(ssm.get_parameters(Names=[sys.argv[2] + "/ca-cert"], WithDecryption=True)["Parameters"]))',
      'try:',
      '    ssm.put_parameter(Name=sys.argv[2] + "/ca-cert", Value="attacker", Type="SecureString", Overwrite=True)',
      '    print("written")',
      'except botocore.exceptions.ClientError as error:',
      '    print("refused", error.response["Error"]["Code"])',
    ].join('\n');
    // WHEN it reads, then tries to replace the CA certificate
    const r = await twin.exec(worker, ['env', `AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL}`, 'python3', '-', TWIN_REGION, path], { input: script });
    // THEN the read works and the write is refused, and the published CA is unchanged
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-2000), lines: r.stdout.trim().split('\n') }).toEqual({
      code: 0,
      stderr: '',
      lines: ['read 1', 'refused AccessDeniedException'],
    });
    const [ca] = await twin.moto.getParameters(TWIN_REGION, [`${path}/ca-cert`]);
    expect(ca.value).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  test('a plain-TCP client is refused', async () => {
    const [worker] = twin.machines.filter((m) => m.role === 'worker');
    const outcome = await tryClient(
      worker,
      ['dask.config.set({"distributed.comm.require-encryption": False})'],
      `Client("tcp://${machine('scheduler').ip}:8786", timeout=10)`,
    );
    process.stderr.write(`\nplain TCP client: ${outcome}\n`);
    expect(outcome).toMatch(/^refused: /);
  });

  test('a client with a certificate from another CA is refused by the scheduler', async () => {
    const [worker] = twin.machines.filter((m) => m.role === 'worker');
    // Another CA and a client certificate from it, made here; the client trusts
    // the cluster's CA, so only the scheduler's check of the client can fail.
    const mint = [
      'set -e; d=$(mktemp -d); cd "$d"',
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca-key.pem -out other-ca.pem -subj "/CN=another CA" -days 1 2>/dev/null',
      'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -subj "/CN=dask-client dasklab" 2>/dev/null |' +
        ' openssl x509 -req -CA other-ca.pem -CAkey other-ca-key.pem -set_serial 7 -days 1 -out cert.pem 2>/dev/null',
      'echo "$d"',
    ].join('\n');
    const dir = (await twin.exec(worker, ['sh', '-c', mint], { user: 'ubuntu' })).stdout.trim();
    expect(dir).toMatch(/^\/tmp\//);
    const scheduler = machine('scheduler');
    const since = (await twin.exec(scheduler, ['date', '+@%s'])).stdout.trim();
    const outcome = await tryClient(
      worker,
      [`security = Security(tls_ca_file="/etc/dask/tls/ca-cert.pem", tls_client_cert="${dir}/cert.pem", tls_client_key="${dir}/key.pem", require_encryption=True)`],
      `Client("${address()}", security=security, timeout=10)`,
    );
    process.stderr.write(`\nclient certificate from another CA: ${outcome}\n`);
    expect(outcome).toMatch(/^refused: /);
    // The scheduler says why: the client's certificate is not from its CA. (The
    // client sees that alert, or only the reset that follows, depending on timing.)
    const journal = await twin.exec(scheduler, ['journalctl', '--no-pager', '-o', 'cat', '-u', 'dask-scheduler', '--since', since]);
    const rejected = journal.stdout.split('\n').filter((l) =>
      l.includes(`TLS handshake failed with remote 'tls://${worker.ip}:`) && /CERTIFICATE_VERIFY_FAILED/.test(l));
    process.stderr.write(`scheduler: ${rejected[0] ?? `(no rejected certificate logged)\n${journal.stdout.slice(-2000)}`}\n`);
    expect(rejected.length).toBeGreaterThan(0);
  });

  test('a client holding the CA and client certificate from Parameter Store (as dasklab tls-client fetches them) computes on both workers', async () => {
    const scheduler = machine('scheduler');
    const path = clusterTlsParameterPath('dasklab');
    const wanted = Object.values(CLIENT_TLS_PARAMETERS);
    const found = await twin.moto.getParameters(TWIN_REGION, wanted.map((n) => `${path}/${n}`));
    expect(found.map((p) => p.type)).toEqual(['SecureString', 'SecureString', 'SecureString']);
    // Written where the client runs, readable by its user only, as the CLI writes them.
    const files = Object.fromEntries(found.map((p) => [p.name.split('/').pop()!, p.value]));
    expect(Object.keys(files).sort()).toEqual(['ca-cert', 'client-cert', 'client-key']);
    const writer = [
      'import json, os, sys, tempfile',
      'files = json.load(sys.stdin)',
      'd = tempfile.mkdtemp()',
      'for name, pem in files.items():',
      '    fd = os.open(os.path.join(d, name + ".pem"), os.O_WRONLY | os.O_CREAT, 0o600)',
      '    os.write(fd, pem.encode())',
      '    os.close(fd)',
      'print(d)',
    ].join('\n');
    const w = await twin.exec(scheduler, ['python3', '-c', writer], { user: 'ubuntu', input: JSON.stringify(files) });
    expect(w.code).toBe(0);
    const clientDir = w.stdout.trim();
    const workers = twin.machines.filter((m) => m.role === 'worker');
    const compute = [
      'import socket',
      'from distributed import Client, Security',
      `security = Security(tls_ca_file="${clientDir}/ca-cert.pem", tls_client_cert="${clientDir}/client-cert.pem", tls_client_key="${clientDir}/client-key.pem", require_encryption=True)`,
      `with Client("${address()}", security=security, timeout=30) as c:`,
      '    addrs = list(c.scheduler_info()["workers"])',
      '    print(" ".join(sorted(c.gather([c.submit(socket.gethostname, workers=[a], pure=False) for a in addrs]))))',
    ].join('\n');
    // The machine's own Dask config is out of the way: only the fetched files count.
    const r = await twin.exec(scheduler, ['env', 'DASK_ROOT_CONFIG=/nonexistent', '/opt/dask/venv/bin/python', '-'], { user: 'ubuntu', input: compute, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(r.stderr.slice(-3000));
    expect(r.stdout.trim()).toBe(workers.map((w) => w.hostname).sort().join(' '));
  });

  test('the bootstrap run again keeps the CA and finishes', async () => {
    const scheduler = machine('scheduler');
    const [worker] = twin.machines.filter((m) => m.role === 'worker');
    const before = await caFingerprint(scheduler);
    const signalsBefore = twin.services.signals.length;
    const started = Date.now();
    const logLines = await Promise.all([scheduler, worker].map(async (m) => Number((await twin.exec(m, ['wc', '-l', '/var/log/dasklab/bootstrap.log'])).stdout.split(' ')[0])));
    const restarts = await Promise.all([scheduler, worker].map((m) => restartUnit(twin, m, 'dasklab-bootstrap.service', 300_000)));
    process.stderr.write(`\nbootstrap run again on the scheduler and a worker: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect(restarts.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual([{ code: 0, stderr: '' }, { code: 0, stderr: '' }]);
    for (const [i, m] of [scheduler, worker].entries()) {
      // What this run logged: its TLS phase found the certificates it had.
      const runLog = (await twin.exec(m, ['tail', '-n', `+${logLines[i] + 1}`, '/var/log/dasklab/bootstrap.log'])).stdout;
      expect({ m: m.logicalId, status: (await twin.readyJson(m)).status }).toEqual({ m: m.logicalId, status: 'ready' });
      expect(await caFingerprint(m)).toBe(before);
      const tlsLines = runLog.split('\n').filter((l) => l.includes('[tls]'));
      expect({ m: m.logicalId, tls: tlsLines.filter((l) => l.includes('certificates in place in /etc/dask/tls')).length, log: tlsLines })
        .toEqual({ m: m.logicalId, tls: 1, log: tlsLines });
    }
    const again = twin.services.signals.slice(signalsBefore);
    expect(again.map((s) => s.body.Status)).toEqual(['SUCCESS', 'SUCCESS']);
    const path = clusterTlsParameterPath('dasklab');
    const [ca] = await twin.moto.getParameters(TWIN_REGION, [`${path}/ca-cert`]);
    expect(ca.value.trim()).toBe((await twin.exec(scheduler, ['cat', '/etc/dask/tls/ca-cert.pem'])).stdout.trim());
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
    expect(await hostsOfATaskOnEachWorker()).toBe(workerHostnames());
  });

  test('a scheduler that makes a new CA (a new disk) gets its workers back: they fetch the new certificates by themselves', async () => {
    const scheduler = machine('scheduler');
    const workers = twin.machines.filter((m) => m.role === 'worker');
    const oldCa = await caFingerprint(scheduler);
    const signalsBefore = twin.services.signals.length;
    // GIVEN the scheduler loses its certificates, as a new machine or a reset disk would
    expect((await twin.exec(scheduler, ['rm', '-rf', '/etc/dask/tls'])).code).toBe(0);
    // WHEN its bootstrap runs: a new CA, published, and the scheduler restarted with it
    const started = Date.now();
    const rerun = await restartUnit(twin, scheduler, 'dasklab-bootstrap.service', 420_000);
    process.stderr.write(`\nscheduler with a new CA: ready again ${((Date.now() - started) / 1000).toFixed(1)} s after its bootstrap started\n`);
    // THEN it reports ready only after every worker, refused with its old certificate, fetched the new ones and ran a task
    expect(rerun.code).toBe(0);
    expect((await twin.readyJson(scheduler)).status).toBe('ready');
    expect(twin.services.signals.slice(signalsBefore).map((s) => s.body.Status)).toEqual(['SUCCESS']);
    const newCa = await caFingerprint(scheduler);
    expect(newCa).not.toBe(oldCa);
    for (const w of workers) {
      expect({ worker: w.logicalId, ca: await caFingerprint(w) }).toEqual({ worker: w.logicalId, ca: newCa });
      const log = await twin.exec(w, ['grep', '-c', 'certificates refreshed from', '/var/log/dasklab/bootstrap.log']);
      expect({ worker: w.logicalId, refreshed: log.stdout.trim() }).toEqual({ worker: w.logicalId, refreshed: '1' });
    }
  });

  // ---- helpers

  function machine(role: string): TwinMachine {
    return twin.machines.find((m) => m.role === role)!;
  }

  /** The scheduler's address, as the template's SchedulerAddress output gives it. */
  /** A client on the scheduler (its Dask config has the certificates) runs a task on each worker: their hostnames, sorted. */
  async function hostsOfATaskOnEachWorker(): Promise<string> {
    const script = [
      'import socket',
      'from distributed import Client',
      `with Client("${address()}", timeout=30) as c:`,
      '    addrs = list(c.scheduler_info()["workers"])',
      '    print(" ".join(sorted(c.gather([c.submit(socket.gethostname, workers=[a], pure=False) for a in addrs]))))',
    ].join('\n');
    return (await pyOn(machine('scheduler'), script)).stdout.trim();
  }

  function workerHostnames(): string {
    return twin.machines.filter((m) => m.role === 'worker').map((w) => w.hostname).sort().join(' ');
  }

  function address(): string {
    return `tls://${machine('scheduler').ip}:8786`;
  }

  /** The SHA-256 fingerprint of the CA certificate a machine uses. */
  async function caFingerprint(m: TwinMachine): Promise<string> {
    const r = await twin.exec(m, ['openssl', 'x509', '-noout', '-fingerprint', '-sha256', '-in', '/etc/dask/tls/ca-cert.pem']);
    if (r.code !== 0) throw new Error(`no CA certificate on ${m.logicalId}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /**
   * Tries to connect a client to the scheduler from a machine, as ubuntu, with
   * the machine's Dask config out of the way (DASK_ROOT_CONFIG), as on an
   * operator's laptop: "connected <n> workers" or "refused: <error>".
   */
  async function tryClient(m: TwinMachine, prelude: string[], connect: string): Promise<string> {
    const script = [
      'import sys',
      'import dask',
      'from distributed import Client, Security',
      ...prelude,
      'try:',
      `    with ${connect} as c:`,
      '        print("connected", len(c.scheduler_info()["workers"]), "workers")',
      'except (OSError, RuntimeError) as error:',
      '    print("refused:", type(error).__name__, str(error).splitlines()[0][:300])',
    ].join('\n');
    const r = await twin.exec(m, ['env', 'DASK_ROOT_CONFIG=/nonexistent', '/opt/dask/venv/bin/python', '-'], { user: 'ubuntu', input: script, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`client on ${m.logicalId} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    return r.stdout.trim().split('\n').pop()!;
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
    const r = await pyOn(scheduler, script, [address(), String(timeoutSeconds), JSON.stringify(want)], (timeoutSeconds + 60) * 1000);
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
