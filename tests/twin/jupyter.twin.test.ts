import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JupyterClient } from './jupyter-client';
import { SignalResult, Twin, TwinMachine } from './launcher';
import { run } from './proc';
import { SSH_OPTIONS, ssh } from './ssh';
import { diagnostics, report, restartUnit, twinDescribe } from './support';
import { JUPYTER_PORT, JUPYTER_URL_COMMAND } from '../../lib/machine/jupyter-lab';
import { AWS_ENDPOINT_URL } from './network';

/**
 * A 2-student lab with one worker each, JupyterLab and course materials
 * (tests/fixtures/materials): through each student's own SSH tunnel, with the
 * token their machine shows them on login, notebooks run through Jupyter
 * Server's API (REST and the kernel's WebSocket) and compute on that student's
 * own worker, among them the materials' own notebook, with the course's
 * package on the worker; the other student's token is refused; JupyterLab's
 * port answers neither from the other student's machines nor from outside. A
 * student's edit of the materials survives a bootstrap run again; a fresh root
 * volume (what `dasklab reset` has EC2 do) brings the originals back. Also
 * measures how long the schedulers took to be ready, and how much of it was
 * JupyterLab and the materials.
 */
const ROSTER = ['alice', 'bob'];

/** The course's materials, shipped as the lab's asset. */
const MATERIALS = path.join(__dirname, '..', 'fixtures', 'materials');

const NOTEBOOK = {
  cells: [
    { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'from dask.distributed import Client\nclient = Client()\nprint("scheduler", client.scheduler.address)' },
    { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'import socket\nprint("workers", *sorted(set(client.run(socket.gethostname).values())))' },
    { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'import dask.array as da\nprint("sum", int(da.ones((2000, 2000), chunks=500).sum().compute()))' },
  ],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  nbformat: 4,
  nbformat_minor: 5,
};

twinDescribe('twin: JupyterLab in a 2-student lab with one worker each', () => {
  let twin: Twin;
  let results: SignalResult[];
  let dir: string;
  const tunnels: ChildProcess[] = [];

  const student = (id: string, role: string): TwinMachine => twin.machines.find((m) => m.tags['dasklab:student'] === id && m.role === role)!;
  /** The student's generated private key. */
  const keyOf = (m: TwinMachine): string => {
    if (!m.keyPair?.privateKeyPath) throw new Error(`${m.logicalId} has no generated key pair`);
    return m.keyPair.privateKeyPath;
  };

  /** The token the student's machine shows the student, read over SSH with the student's key. */
  async function tokenOf(id: string): Promise<string> {
    const m = student(id, 'scheduler');
    const r = await ssh(twin, m, keyOf(m), JUPYTER_URL_COMMAND);
    const match = /^http:\/\/127\.0\.0\.1:8888\/lab\?token=([0-9a-f]{48})$/.exec(r.stdout.trim());
    if (!match) throw new Error(`${id}: ${JUPYTER_URL_COMMAND} printed ${JSON.stringify(r.stdout)} (${r.code}: ${r.stderr})`);
    return match[1];
  }

  /** The handout's tunnel, with its local end a Unix socket the test can reach: ssh -N -L SOCKET:127.0.0.1:8888. */
  async function tunnelTo(id: string): Promise<string> {
    const m = student(id, 'scheduler');
    const socket = path.join(dir, `${id}.sock`);
    const child = spawn('ip', ['netns', 'exec', twin.hubNetns, 'ssh', ...SSH_OPTIONS, '-i', keyOf(m), '-N',
      '-o', 'ExitOnForwardFailure=yes', '-L', `${socket}:127.0.0.1:${JUPYTER_PORT}`, `ubuntu@${m.serviceIp}`], { stdio: 'ignore' });
    tunnels.push(child);
    for (let i = 0; i < 100 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    if (!fs.existsSync(socket)) throw new Error(`the tunnel to ${id}'s JupyterLab did not open`);
    return socket;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-jupyter-test-'));
    const config = path.join(dir, 'lab.config.json');
    fs.writeFileSync(config, JSON.stringify({
      name: 'dasklab',
      access: { sshCidrs: ['10.213.0.1/32'] },
      lab: { roster: ROSTER, workersPerStudent: 1, idleStopMinutes: 0, jupyter: true, materials: MATERIALS },
    }));
    // A persistent root: the bootstrap runs again on it, and a reset replaces it.
    twin = await Twin.start({ stacks: /^dasklab-Lab-\d+$/, context: { config }, timeoutSeconds: 900, persistentRoot: true });
    results = await twin.waitForSignals();
    await report(twin, results);
  });

  afterAll(async () => {
    for (const t of tunnels) if (t.pid !== undefined && t.exitCode === null) t.kill();
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every machine is ready; JupyterLab runs on each scheduler only', async () => {
    const failed = results.filter((r) => r.status !== 'SUCCESS');
    if (failed.length) throw new Error(`${failed.map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n')}\n${await diagnostics(twin)}`);
    for (const m of twin.machines) {
      const active = await twin.exec(m, ['systemctl', 'is-active', 'jupyterlab.service']);
      expect(`${m.tags['dasklab:student']} ${m.role}: ${active.stdout.trim()}`).toBe(`${m.tags['dasklab:student']} ${m.role}: ${m.role === 'scheduler' ? 'active' : 'inactive'}`);
    }
    // What JupyterLab costs, measured in this run: the scheduler installs JupyterLab's packages and
    // runs the jupyter phase; its worker, booted beside it from the same packages, does neither.
    for (const id of ROSTER) {
      const scheduler = await twin.readyJson(student(id, 'scheduler'));
      const worker = await twin.readyJson(student(id, 'worker'));
      const seconds = (ready: any, phase: string) => ready.phases[phase]?.seconds ?? 0; // eslint-disable-line @typescript-eslint/no-explicit-any
      process.stderr.write(
        `[measure] ${id}: scheduler with JupyterLab and the materials ready in ${scheduler.totalSeconds} s (pip ${seconds(scheduler, 'pip')} s, ` +
          `materials ${seconds(scheduler, 'materials')} s, jupyter ${seconds(scheduler, 'jupyter')} s, verify ${seconds(scheduler, 'verify')} s, cluster ${seconds(scheduler, 'cluster')} s); ` +
          `worker without either ready in ${worker.totalSeconds} s (pip ${seconds(worker, 'pip')} s, verify ${seconds(worker, 'verify')} s)\n`,
      );
      expect(Object.keys(scheduler.phases)).toEqual(expect.arrayContaining(['materials', 'jupyter']));
      expect(Object.keys(worker.phases)).not.toContain('materials');
    }
  });

  test("through each student's tunnel, with their token, a notebook computes on that student's own worker", async () => {
    for (const id of ROSTER) {
      const client = new JupyterClient(await tunnelTo(id), await tokenOf(id));
      expect((await client.request('PUT', '/api/contents/demo.ipynb', { type: 'notebook', format: 'json', content: NOTEBOOK })).status).toBe(201);
      const cells = await client.runNotebook('demo.ipynb');
      expect(cells.filter((c) => c.error)).toEqual([]);
      const output = cells.map((c) => c.output).join('');
      const worker = (await twin.exec(student(id, 'worker'), ['hostname'])).stdout.trim();
      expect(output).toContain('scheduler tcp://127.0.0.1:8786');
      expect(output).toContain(`workers ${worker}\n`);
      expect(output).toContain('sum 4000000');
      // The notebook is in the course folder, the server's root.
      expect((await twin.exec(student(id, 'scheduler'), ['test', '-f', '/home/ubuntu/course/demo.ipynb'])).code).toBe(0);
    }
  });

  test("the other student's token, and no token, are refused", async () => {
    const [alice, bob] = await Promise.all(ROSTER.map(tokenOf));
    expect(alice).not.toBe(bob);
    const client = new JupyterClient(await tunnelTo('alice'), alice);
    expect((await client.request('GET', '/api/status', undefined, alice)).status).toBe(200);
    expect((await client.request('GET', '/api/status', undefined, bob)).status).toBe(403);
    expect((await client.request('GET', '/api/status', undefined, null)).status).toBe(403);
  });

  test("JupyterLab's port is closed from the other student's machines and from outside", async () => {
    const alice = student('alice', 'scheduler');
    const url = `http://${alice.ip}:${JUPYTER_PORT}/api/status`;
    for (const m of twin.machines.filter((x) => x.tags['dasklab:student'] === 'bob')) {
      const r = await twin.exec(m, ['curl', '-sS', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', url]);
      expect(`${m.role}: ${r.code === 0 ? r.stdout : 'no answer'}`).toBe(`${m.role}: no answer`);
    }
    const outside = await run('ip', ['netns', 'exec', twin.hubNetns, 'curl', '-sS', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${alice.serviceIp}:${JUPYTER_PORT}/api/status`]);
    expect(outside.code === 0 ? outside.stdout : 'no answer').toBe('no answer');
  });

  test('the token is in no log: not in the bootstrap log, the journal or cloud-init output', async () => {
    for (const id of ROSTER) {
      const token = await tokenOf(id);
      const m = student(id, 'scheduler');
      const r = await twin.exec(m, ['sh', '-c', 'cat /var/log/dasklab/bootstrap.log /var/log/cloud-init-output.log; journalctl --no-pager -b']);
      expect(r.stdout.length).toBeGreaterThan(1000);
      expect(r.stdout.includes(token)).toBe(false);
    }
  });

  test('on an interactive login the machine shows the student their JupyterLab address', async () => {
    const m = student('bob', 'scheduler');
    const r = await ssh(twin, m, keyOf(m), 'bash -l -i -c true 2>/dev/null');
    expect(r.stdout).toContain(`JupyterLab: http://127.0.0.1:${JUPYTER_PORT}/lab?token=${await tokenOf('bob')}`);
  });

  test('each machine tags itself with whether its JupyterLab answers, when that changes, for `dasklab status`', async () => {
    const m = student('bob', 'scheduler');
    // GIVEN a machine that reported ready: its JupyterLab answered, and the check runs every minute
    expect(twin.selfTags(m, 'dasklab:jupyter')).toEqual(['answers']);
    expect((await twin.exec(m, ['systemctl', 'is-enabled', 'dasklab-jupyter-check.timer'])).stdout.trim()).toBe('enabled');
    // WHEN JupyterLab stops and the check runs THEN the machine says it does not answer
    await twin.exec(m, ['systemctl', 'stop', 'jupyterlab.service']);
    expect((await twin.exec(m, ['systemctl', 'start', 'dasklab-jupyter-check.service'])).code).toBe(0);
    expect(twin.selfTags(m, 'dasklab:jupyter')).toEqual(['answers', 'not answering']);
    // AND a check with nothing changed tags nothing
    await twin.exec(m, ['systemctl', 'start', 'dasklab-jupyter-check.service']);
    expect(twin.selfTags(m, 'dasklab:jupyter')).toEqual(['answers', 'not answering']);
    // WHEN it is back THEN so is the tag
    await twin.exec(m, ['systemctl', 'start', 'jupyterlab.service']);
    for (let tries = 0; twin.selfTags(m, 'dasklab:jupyter').length < 3 && tries < 40; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await twin.exec(m, ['systemctl', 'start', 'dasklab-jupyter-check.service']);
    }
    expect(twin.selfTags(m, 'dasklab:jupyter')).toEqual(['answers', 'not answering', 'answers']);
  });

  test("the materials are in each student's ~/course before the machine is ready, the student's own, and only there", async () => {
    const shipped = fs.readFileSync(path.join(MATERIALS, 'welcome.ipynb'), 'utf8');
    for (const id of ROSTER) {
      const scheduler = student(id, 'scheduler');
      const files = await twin.exec(scheduler, ['sh', '-c', 'cd /home/ubuntu/course && find . -type f | sort && stat -c %U welcome.ipynb data/numbers.txt']);
      expect(files.stdout.split('\n')).toEqual(expect.arrayContaining(['./data/numbers.txt', './requirements.txt', './welcome.ipynb', 'ubuntu']));
      expect(files.stdout).not.toMatch(/root/);
      expect((await twin.exec(scheduler, ['cat', '/home/ubuntu/course/welcome.ipynb'])).stdout).toBe(shipped);
      // Unpacked before the readiness signal: the phase ran, and reported, in the bootstrap that signalled.
      expect((await twin.readyJson(scheduler)).phases.materials).toBeDefined();
      expect((await twin.exec(student(id, 'worker'), ['test', '-e', '/home/ubuntu/course/welcome.ipynb'])).code).not.toBe(0);
    }
    // Each scheduler got the object, through the AWS endpoint, from the twin's S3; no worker asked.
    const gets = twin.services.s3Requests.filter((r) => r.method === 'GET' && r.status === 200);
    const schedulers = ROSTER.map((id) => student(id, 'scheduler').instanceId).sort();
    expect([...new Set(gets.map((r) => r.instanceId))].sort()).toEqual(schedulers);
    expect(new Set(gets.map((r) => r.object)).size).toBe(1);
  });

  test('a machine may read the materials and no other object of the bucket', async () => {
    const scheduler = student('alice', 'scheduler');
    const object = twin.services.s3Requests.find((r) => r.status === 200)!.object;
    const [bucket, key] = [object.slice(0, object.indexOf('/')), object.slice(object.indexOf('/') + 1)];
    const script = [
      'import sys, boto3, botocore',
      's3 = boto3.client("s3", region_name="us-east-1")',
      'for key in sys.argv[2:]:',
      '    try:',
      '        print(key, len(s3.get_object(Bucket=sys.argv[1], Key=key)["Body"].read()))',
      '    except botocore.exceptions.ClientError as e:',
      '        print(key, e.response["Error"]["Code"])',
    ].join('\n');
    const r = await twin.exec(scheduler, ['env', `AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL}`, 'python3', '-c', script, bucket, key, `${'0'.repeat(64)}.zip`, `${key}.old`]);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${key} [1-9][0-9]*$`));
    expect(lines.slice(1)).toEqual([`${'0'.repeat(64)}.zip AccessDenied`, `${key}.old AccessDenied`]);
  });

  test("through each student's tunnel, the materials' notebook computes on that student's own worker, with the course's package there", async () => {
    for (const id of ROSTER) {
      const client = new JupyterClient(await tunnelTo(id), await tokenOf(id));
      const cells = await client.runNotebook('welcome.ipynb');
      expect(cells.filter((c) => c.error)).toEqual([]);
      const output = cells.map((c) => c.output).join('');
      const worker = (await twin.exec(student(id, 'worker'), ['hostname'])).stdout.trim();
      expect(output).toContain('scheduler tcp://127.0.0.1:8786');
      expect(output).toContain(`workers ${worker}\n`);
      // The data file beside the notebook, summed on the worker: 1 + ... + 1000.
      expect(output).toContain('sum 500500');
      // requirements.txt's package, imported in a task on the worker.
      expect(output).toContain('on a worker: requests');
    }
  });

  test("a student's edit of the materials survives the bootstrap running again", async () => {
    // GIVEN alice's own version of the notebook, saved through JupyterLab
    const scheduler = student('alice', 'scheduler');
    const client = new JupyterClient(await tunnelTo('alice'), await tokenOf('alice'));
    const mine = { ...JSON.parse(fs.readFileSync(path.join(MATERIALS, 'welcome.ipynb'), 'utf8')), metadata: { kernelspec: NOTEBOOK.metadata.kernelspec, alice: 'my answers' } };
    expect((await client.request('PUT', '/api/contents/welcome.ipynb', { type: 'notebook', format: 'json', content: mine })).status).toBe(200);
    const before = (await twin.exec(scheduler, ['cat', '/home/ubuntu/course/welcome.ipynb'])).stdout;
    expect(before).toContain('my answers');
    // WHEN the bootstrap runs again (as at every boot)
    const rerun = await restartUnit(twin, scheduler, 'dasklab-bootstrap.service', 420_000);
    expect(rerun.code).toBe(0);
    // THEN it is ready again, and the notebook is still alice's
    expect((await twin.readyJson(scheduler)).status).toBe('ready');
    expect((await twin.exec(scheduler, ['cat', '/home/ubuntu/course/welcome.ipynb'])).stdout).toBe(before);
    expect((await twin.exec(scheduler, ['tail', '-n', '200', '/var/log/dasklab/bootstrap.log'])).stdout).toMatch(/\[materials\] materials [0-9a-f]{64}\.zip: unpacked already/);
  });

  test('a fresh root volume (dasklab reset) brings the original materials back', async () => {
    // GIVEN alice's edit (the test before)
    const scheduler = student('alice', 'scheduler');
    expect((await twin.exec(scheduler, ['cat', '/home/ubuntu/course/welcome.ipynb'])).stdout).toContain('my answers');
    // WHEN EC2 replaces the root volume with its launch state and the machine boots on it (the
    // student's connections end with the reboot)
    for (const t of tunnels) if (t.pid !== undefined && t.exitCode === null) t.kill();
    await twin.replaceRootVolume(scheduler);
    const deadline = Date.now() + 600_000;
    let ready: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    while (!(ready?.status === 'ready') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5000));
      ready = await twin.readyJson(scheduler).catch(() => undefined);
      if (ready?.status === 'failed') throw new Error(`the bootstrap after the reset failed: ${JSON.stringify(ready)}\n${await diagnostics(twin)}`);
    }
    // THEN the bootstrap ran from the start and the notebook is the one shipped
    expect(ready?.status).toBe('ready');
    expect(ready.phases.materials).toBeDefined();
    expect((await twin.exec(scheduler, ['cat', '/home/ubuntu/course/welcome.ipynb'])).stdout).toBe(fs.readFileSync(path.join(MATERIALS, 'welcome.ipynb'), 'utf8'));
    process.stderr.write(`[measure] alice: scheduler ready ${ready.totalSeconds} s after its root volume was replaced (materials ${ready.phases.materials.seconds} s)\n`);
  });
});
