import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SignalResult, Twin, TwinMachine } from './launcher';
import { HUB_IP, PIP_INDEX_URL, PORTS } from './network';
import { ProxiedRequest, TWIN_PROXY_URL } from './proxy';
import { diagnostics, report, twinDescribe } from './support';

/**
 * Machines in an existing VPC whose private subnets have no way to the
 * internet (no NAT gateway): the twin drops every packet from the machine to
 * the package index and the apt archive (way-out.ts). With `network.proxy`
 * naming the twin's proxy, the only way to them, a lab student's machine with
 * JupyterLab gets ready through it, and what starts after the bootstrap
 * (JupyterLab, pip in a notebook) uses it too. Without a proxy, the bootstrap
 * fails in its first phase, well before the deploy's timeout, with a reason
 * that names the network.
 */
const VPC = 'vpc-0a1b2c3d4e5f60718';
const SUBNET = { id: 'subnet-0a1b2c3d4e5f60001', zone: 'us-east-1a', cidr: '10.213.0.0/24', routeTableId: 'rtb-0a1b2c3d4e5f60001' };

function writeConfig(dir: string, config: object): string {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

async function sh(twin: Twin, m: TwinMachine, cmd: string): Promise<{ code: number; stdout: string }> {
  const r = await twin.exec(m, ['bash', '-c', cmd]);
  return { code: r.code, stdout: r.stdout.trim() };
}

twinDescribe('twin: a proxy-only subnet, with network.proxy', () => {
  let dir: string;
  let twin: Twin;
  let result: SignalResult;
  let machine: TwinMachine;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-proxy-test-'));
    const config = writeConfig(dir, {
      name: 'dasklab',
      lab: { roster: ['alice'], idleStopMinutes: 0, jupyter: true },
      // AWS (the signal, the self-tag) through the proxy as well: no VPC endpoints.
      network: { vpcId: VPC, subnets: [SUBNET], proxy: TWIN_PROXY_URL, endpoints: 'none' },
    });
    twin = await Twin.start({ stacks: /^dasklab-Lab-\d+$/, context: { config }, wayOut: 'proxy', timeoutSeconds: 900 });
    machine = twin.machines[0];
    [result] = await twin.waitForSignals();
    await report(twin, [result]);
  });

  afterAll(async () => {
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** How many requests of each method went to each of the twin's ports, with their statuses. */
  const summary = (requests: ProxiedRequest[]): string => {
    const counts = new Map<string, number>();
    for (const r of requests) {
      const port = /:(\d+)/.exec(r.target)?.[1] ?? '?';
      const key = `${r.method} :${port} ${r.status}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const refused = requests.filter((r) => r.status === 403).map((r) => `${r.method} ${r.target}`);
    return [...counts].map(([k, n]) => `${k} x${n}`).join(', ') + (refused.length ? `; refused: ${refused.join(', ')}` : '');
  };
  const fromMachine = () => twin.proxy.requests.filter((r) => r.client === machine.serviceIp || r.client === machine.ip);

  test('the student machine gets ready, and the package index, the apt archive and AWS were reached through the proxy', async () => {
    expect(twin.machines.map((m) => m.role)).toEqual(['student']);
    if (result.status !== 'SUCCESS') throw new Error(`${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
    const requests = fromMachine();
    const ok = (pattern: RegExp) => requests.filter((r) => pattern.test(`${r.method} ${r.target}`) && r.status === 200);
    // THEN the network phase checked the index through the proxy, and pip fetched the wheels through it
    expect(ok(new RegExp(`^HEAD ${PIP_INDEX_URL}$`))).not.toHaveLength(0);
    expect(ok(new RegExp(`^GET ${PIP_INDEX_URL}dask/$`))).not.toHaveLength(0);
    expect(ok(new RegExp(`^GET http://${HUB_IP}:${PORTS.pip}/.*/jupyterlab-[^/]+\\.whl$`))).not.toHaveLength(0);
    // AND apt fetched its index and packages through it
    expect(ok(new RegExp(`^GET http://${HUB_IP}:${PORTS.apt}/.*\\.deb$`))).not.toHaveLength(0);
    // AND the readiness signal and the self-tag went through it (no VPC endpoints)
    process.stderr.write(`\nthe proxy carried ${requests.length} requests from ${machine.logicalId}: ${summary(requests)}\n`);
    expect(ok(new RegExp(`^PUT http://${HUB_IP}:${PORTS.signal}/signal/`))).not.toHaveLength(0);
    expect(ok(new RegExp(`^POST http://${HUB_IP}:${PORTS.ec2}/`))).not.toHaveLength(0);
    expect(twin.bootstrapTags(machine)).toEqual(['bootstrapping', 'ready']);
  });

  test('the machine has no other way to the index than the proxy, which forwards only to the twin', async () => {
    const curl = (args: string) => sh(twin, machine, `curl -sS -o /dev/null -w '%{http_code}' ${args}`);
    // Directly: the packets are dropped, so curl gives up at its timeout (exit 28).
    expect((await curl(`--noproxy '*' --connect-timeout 3 ${PIP_INDEX_URL}`)).code).toBe(28);
    // Through the proxy, plain and tunnelled (CONNECT, as for an https index)
    expect((await curl(`-x ${TWIN_PROXY_URL} ${PIP_INDEX_URL}`)).stdout).toBe('200');
    expect((await curl(`-p -x ${TWIN_PROXY_URL} ${PIP_INDEX_URL}`)).stdout).toBe('200');
    expect(fromMachine().some((r) => r.method === 'CONNECT' && r.target === `${HUB_IP}:${PORTS.pip}` && r.status === 200)).toBe(true);
    // Anything else the proxy refuses
    expect((await curl(`-x ${TWIN_PROXY_URL} http://${HUB_IP}:22/`)).stdout).toBe('403');
    expect((await curl(`-p -x ${TWIN_PROXY_URL} http://192.0.2.1:80/`)).code).not.toBe(0);
    expect(fromMachine().some((r) => r.method === 'CONNECT' && r.target === '192.0.2.1:80' && r.status === 403)).toBe(true);
  });

  test('the services that start after the bootstrap read the proxy from /etc/dasklab/proxy.env', async () => {
    // GIVEN the file the network phase wrote: both cases, readable by all
    const env = await sh(twin, machine, 'stat -c %a /etc/dasklab/proxy.env && cat /etc/dasklab/proxy.env');
    const [mode, ...lines] = env.stdout.split('\n');
    expect(mode).toBe('644');
    expect(lines).toEqual(expect.arrayContaining([`http_proxy=${TWIN_PROXY_URL}`, `https_proxy=${TWIN_PROXY_URL}`, `HTTP_PROXY=${TWIN_PROXY_URL}`, `HTTPS_PROXY=${TWIN_PROXY_URL}`]));
    expect(lines.find((l) => l.startsWith('no_proxy='))).toContain('169.254.169.254');
    // THEN JupyterLab runs with it: its process environment has the proxy
    const jupyterEnv = await sh(twin, machine, "tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value jupyterlab.service)/environ | grep -i '_proxy='");
    expect(jupyterEnv.stdout.split('\n')).toEqual(expect.arrayContaining([`https_proxy=${TWIN_PROXY_URL}`, `HTTPS_PROXY=${TWIN_PROXY_URL}`]));
    // AND pip with JupyterLab's environment (a notebook's %pip) reaches the index through the proxy
    const before = fromMachine().length;
    const pip = await sh(
      twin,
      machine,
      "cd /tmp && sudo -u ubuntu env -i HOME=/home/ubuntu $(tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value jupyterlab.service)/environ | grep -i '_proxy=') " +
        `/opt/dask/venv/bin/pip download --index-url ${PIP_INDEX_URL} --no-deps --no-cache-dir --timeout 10 -d /tmp/pip-through-proxy toolz 2>&1`,
    );
    if (pip.code !== 0) throw new Error(`pip download through the proxy failed: ${pip.stdout}`);
    expect(fromMachine().slice(before).some((r) => r.target === `${PIP_INDEX_URL}toolz/` && r.status === 200)).toBe(true);
  });
});

twinDescribe('twin: a subnet without a way out, and no proxy', () => {
  let dir: string;
  let twin: Twin;
  let result: SignalResult;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-proxy-test-'));
    // VPC endpoints: the readiness signal reaches CloudFormation, as through the S3 gateway endpoint.
    const config = writeConfig(dir, { name: 'dasklab', network: { vpcId: VPC, subnets: [SUBNET], endpoints: 'create' } });
    // The template's own timeout: the deploy's (machine.readyTimeoutMinutes).
    twin = await Twin.start({ stack: 'dasklab-Machine', context: { config }, wayOut: 'none' });
    [result] = await twin.waitForSignals();
    await report(twin, [result]);
  });

  afterAll(async () => {
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the bootstrap fails in its network phase, naming what the network lacks, well before the deploy times out', async () => {
    const machine = twin.machines[0];
    expect(result.status).toBe('FAILURE');
    // THEN the reason CloudFormation shows names the network, not a pip traceback
    expect(result.reason).toContain('phase network failed');
    expect(result.reason).toContain(`network: cannot reach the package index ${PIP_INDEX_URL}`);
    expect(result.reason).toContain('a NAT gateway');
    expect(result.reason).toContain('network.proxy');
    expect(result.reason).not.toMatch(/Traceback|pip install/);
    // AND it came within a few minutes of the machine's start, a small part of the deploy's wait
    process.stderr.write(`\nfailed ${result.seconds.toFixed(0)} s after the machine started; the deploy waits ${machine.timeoutSeconds} s\n`);
    expect(machine.timeoutSeconds).toBe(1800);
    expect(result.seconds).toBeLessThan(240);
    // AND the machine says so too, and never got to apt or pip
    expect((await twin.readyJson(machine)).failedPhase).toBe('network');
    const log = await sh(twin, machine, 'cat /var/log/dasklab/bootstrap.log');
    expect(log.stdout).toContain('This subnet has no way to it');
    expect(log.stdout).not.toMatch(/\[(apt|pip)\] phase started/);
    expect(fs.readFileSync(twin.services.accessLog, 'utf8')).not.toMatch(/^\S+ (apt|pip) /m);
  });
});
