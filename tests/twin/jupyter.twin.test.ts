import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { JupyterClient } from './jupyter-client';
import { SignalResult, Twin, TwinMachine } from './launcher';
import { run } from './proc';
import { SSH_OPTIONS, ssh } from './ssh';
import { diagnostics, report, twinDescribe } from './support';
import { JUPYTER_PORT, JUPYTER_URL_COMMAND } from '../../lib/machine/jupyter-lab';

/**
 * A 2-student lab with one worker each and JupyterLab: through each student's
 * own SSH tunnel, with the token their machine shows them on login, a notebook
 * runs through Jupyter Server's API (REST and the kernel's WebSocket) and
 * computes on that student's own worker; the other student's token is refused;
 * JupyterLab's port answers neither from the other student's machines nor
 * from outside. Also measures how long the schedulers took to be ready, and
 * how much of it was JupyterLab.
 */
const ROSTER = ['alice', 'bob'];

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
      lab: { roster: ROSTER, workersPerStudent: 1, idleStopMinutes: 0, jupyter: true },
    }));
    twin = await Twin.start({ stacks: /^dasklab-Lab-\d+$/, context: { config }, timeoutSeconds: 900 });
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
        `[measure] ${id}: scheduler with JupyterLab ready in ${scheduler.totalSeconds} s (pip ${seconds(scheduler, 'pip')} s, jupyter ${seconds(scheduler, 'jupyter')} s, ` +
          `verify ${seconds(scheduler, 'verify')} s, cluster ${seconds(scheduler, 'cluster')} s); ` +
          `worker without ready in ${worker.totalSeconds} s (pip ${seconds(worker, 'pip')} s, verify ${seconds(worker, 'verify')} s)\n`,
      );
      expect(seconds(scheduler, 'jupyter')).toBeGreaterThanOrEqual(0);
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
});
