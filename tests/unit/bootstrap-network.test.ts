/**
 * The network phase (userdata/phases/network.sh) run by bash on this machine:
 * it routes apt, pip, curl and boto3 through network.proxy when one is set,
 * and checks before anything is installed that the package index and the apt
 * archive can be reached, failing within seconds with a reason that names the
 * network rather than with pip's traceback half an hour later. The proxy is a
 * small forwarding proxy on loopback; the index sits at a host name that does
 * not resolve, so only the proxy can reach it. Stand-ins: `log` (stderr),
 * `retry` (the bootstrap's, with no delay), the files the phase writes (in a
 * scratch directory).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { BootstrapParameters, renderBootstrapSource, USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

const PHASE = fs.readFileSync(path.join(USERDATA_DIR, 'phases', 'network.sh'), 'utf8');
const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
/** A host name that never resolves (RFC 6761): reachable through the proxy only. */
const INDEX_URL = 'http://pypi.corp.invalid/simple/';
const ARCHIVE_URL = 'http://archive.corp.invalid/ubuntu/';

function functionText(script: string, name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(script);
  if (match === null) throw new Error(`no function ${name}`);
  return match[0];
}

/** A forwarding HTTP proxy on loopback that answers for the .invalid hosts; records the URLs asked for. */
async function fakeProxy(): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.statusCode = req.url?.startsWith('http://') && req.url.includes('.corp.invalid/') ? 200 : 502;
    res.end('<html></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface PhaseRun {
  status: number;
  log: string;
  seconds: number;
  /** What a later command of the bootstrap would see. */
  env: Record<string, string>;
}

/** Runs phase_network with the given proxy and index; the apt sources name ARCHIVE_URL. */
function runNetworkPhase(dir: string, options: { proxy: string; index?: string; noProxy?: string }): Promise<PhaseRun> {
  fs.mkdirSync(path.join(dir, 'sources.list.d'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sources.list.d', 'ubuntu.sources'), `Types: deb\nURIs: ${ARCHIVE_URL}\nSuites: noble\nComponents: main\n`);
  const script = [
    'set -Eeuo pipefail',
    'log() { printf "%s\\n" "$*" >&2; }',
    functionText(BOOTSTRAP, 'retry'),
    functionText(BOOTSTRAP, 'write_file'),
    `DASKLAB_PROXY_URL='${options.proxy}'`,
    `DASKLAB_NO_PROXY='${options.noProxy ?? ''}'`,
    `DASKLAB_PIP_INDEX_URL='${options.index ?? INDEX_URL}'`,
    `APT_SOURCES_DIR='${dir}'`,
    `APT_PROXY_CONF='${dir}/90dasklab-proxy'`,
    `PROFILE_PROXY='${dir}/dasklab-proxy.sh'`,
    `SSM_AGENT_PROXY_DIR='${dir}/ssm-agent.service.d'`,
    `PROXY_ENV='${dir}/dasklab/proxy.env'`,
    PHASE,
    `systemctl() { echo "$*" >>'${dir}/systemctl.calls'; }`,
    // The bootstrap's retry waits between attempts; here it need not.
    'sleep() { :; }',
    'phase_network',
    'env | grep -Ei "^(https?|no)_proxy=" >&2 || true',
  ].join('\n');
  const started = Date.now();
  return new Promise((resolve) => {
    // --norc: with no SHLVL and a socket for stdin, bash takes itself for a remote shell and reads ~/.bashrc.
    const child = spawn('bash', ['--norc', '-c', script], { env: { PATH: process.env.PATH! } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => {
      const env = Object.fromEntries(
        stderr
          .split('\n')
          .filter((l) => /^(https?|no)_proxy=/i.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      resolve({ status: status ?? -1, log: stderr, seconds: (Date.now() - started) / 1000, env });
    });
  });
}

describe('the network phase', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-network-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('GIVEN a proxy that reaches the index and the archive WHEN the phase runs THEN it passes, and apt, pip, curl and boto3 go through the proxy', async () => {
    const proxy = await fakeProxy();
    try {
      // WHEN
      const run = await runNetworkPhase(dir, { proxy: proxy.url, noProxy: '169.254.169.254,localhost' });
      // THEN
      expect(run.status).toBe(0);
      expect(proxy.requests).toEqual(expect.arrayContaining([`HEAD ${INDEX_URL}`, `HEAD ${ARCHIVE_URL}`]));
      // AND every later command finds the proxy in its environment (curl, pip and boto3 read these)
      expect(run.env).toMatchObject({ http_proxy: proxy.url, https_proxy: proxy.url, HTTPS_PROXY: proxy.url, no_proxy: '169.254.169.254,localhost' });
      // AND apt, login shells and the SSM agent are told the proxy too
      expect(fs.readFileSync(path.join(dir, '90dasklab-proxy'), 'utf8')).toContain(`Acquire::https::Proxy "${proxy.url}";`);
      expect(fs.readFileSync(path.join(dir, 'dasklab-proxy.sh'), 'utf8')).toContain(`https_proxy='${proxy.url}'`);
      expect(fs.readFileSync(path.join(dir, 'ssm-agent.service.d', 'dasklab-proxy.conf'), 'utf8')).toContain(`Environment="https_proxy=${proxy.url}"`);
    } finally {
      await proxy.close();
    }
  });

  test('GIVEN network.proxy names a port where nothing listens THEN the phase fails within seconds, saying the proxy is unreachable', async () => {
    const proxy = `http://127.0.0.1:${await closedPort()}`;
    const run = await runNetworkPhase(dir, { proxy });
    expect(run.status).not.toBe(0);
    expect(run.log).toContain(`network: the proxy ${proxy} (network.proxy) is unreachable from this subnet`);
    expect(run.log).not.toMatch(/Traceback/);
    expect(run.seconds).toBeLessThan(60);
  });

  test('GIVEN no proxy and no route to the index THEN the phase fails within seconds, naming the index and what the network lacks', async () => {
    const run = await runNetworkPhase(dir, { proxy: '' });
    expect(run.status).not.toBe(0);
    expect(run.log).toContain(`network: cannot reach the package index ${INDEX_URL}`);
    expect(run.log).toContain('a NAT gateway');
    expect(run.log).toContain('network.proxy');
    expect(run.seconds).toBeLessThan(60);
  });

  test('GIVEN a proxy that refuses the index (HTTP 502) THEN the phase fails naming the index and the proxy', async () => {
    const proxy = await fakeProxy();
    try {
      fs.mkdirSync(path.join(dir, 'sources.list.d'), { recursive: true });
      const run = await runNetworkPhase(dir, { proxy: proxy.url, index: 'http://pypi.elsewhere.example/simple/' });
      expect(run.status).not.toBe(0);
      expect(run.log).toContain(`network: cannot reach the package index http://pypi.elsewhere.example/simple/ through the proxy ${proxy.url}`);
    } finally {
      await proxy.close();
    }
  });

  test('GIVEN no proxy (any longer) THEN the files an earlier proxy left are removed', async () => {
    fs.writeFileSync(path.join(dir, '90dasklab-proxy'), 'old');
    fs.writeFileSync(path.join(dir, 'dasklab-proxy.sh'), 'old');
    fs.mkdirSync(path.join(dir, 'dasklab'));
    fs.writeFileSync(path.join(dir, 'dasklab', 'proxy.env'), 'old');
    await runNetworkPhase(dir, { proxy: '' });
    expect(fs.existsSync(path.join(dir, '90dasklab-proxy'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'dasklab-proxy.sh'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'dasklab', 'proxy.env'))).toBe(false);
  });

  test('GIVEN a proxy THEN the services that start after the bootstrap find it in /etc/dasklab/proxy.env, readable by every user', async () => {
    const proxy = await fakeProxy();
    try {
      // WHEN
      const run = await runNetworkPhase(dir, { proxy: proxy.url, noProxy: '169.254.169.254,localhost,.amazonaws.com' });
      // THEN the file holds the pair in both cases, as systemd's EnvironmentFile= reads it
      expect(run.status).toBe(0);
      const file = path.join(dir, 'dasklab', 'proxy.env');
      expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).sort()).toEqual(
        [
          `HTTPS_PROXY=${proxy.url}`,
          `HTTP_PROXY=${proxy.url}`,
          'NO_PROXY=169.254.169.254,localhost,.amazonaws.com',
          `http_proxy=${proxy.url}`,
          `https_proxy=${proxy.url}`,
          'no_proxy=169.254.169.254,localhost,.amazonaws.com',
        ].sort(),
      );
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
      // AND a second run with the same proxy leaves it as it is
      expect((await runNetworkPhase(dir, { proxy: proxy.url, noProxy: '169.254.169.254,localhost,.amazonaws.com' })).status).toBe(0);
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    } finally {
      await proxy.close();
    }
  });

  test('GIVEN no proxy THEN there is no proxy.env', async () => {
    const run = await runNetworkPhase(dir, { proxy: '', index: 'http://127.0.0.1:1/simple/' });
    expect(run.status).not.toBe(0);
    expect(fs.existsSync(path.join(dir, 'dasklab', 'proxy.env'))).toBe(false);
  });
});

describe('services that start after the bootstrap', () => {
  const NETWORK = { proxyUrl: 'http://proxy.corp.example:3128', noProxy: ['169.254.169.254'] };
  const STUDENT: BootstrapParameters = { app: 'course', role: 'student', pythonVersion: '3.12', packages: ['numpy'], venv: '/opt/dask/venv', jupyter: true, network: NETWORK };
  const TLS_WORKER: BootstrapParameters = {
    ...STUDENT,
    role: 'worker',
    jupyter: false,
    dask: { schedulerHost: '10.20.1.10', name: 'worker-1', tls: { parameterPath: '/dasklab/course/cluster/tls' } },
  };
  /** The unit file that a phase writes to `path` in the bootstrap as the machine runs it. */
  const unitWrittenTo = (params: BootstrapParameters, target: RegExp): string => {
    const { body } = renderBootstrapSource(params);
    const match = new RegExp(`write_file ${target.source}"? <<'UNIT'[^\\n]*\\n([\\s\\S]*?)\\nUNIT\\n`).exec(body);
    if (!match) throw new Error(`no unit written to ${target.source}`);
    return match[1];
  };
  const PROXY_ENV_PATH = /^PROXY_ENV=\$\{PROXY_ENV:-([^}]+)\}$/m.exec(PHASE)?.[1];

  test('the network phase writes the proxy for them to /etc/dasklab/proxy.env', () => {
    expect(PROXY_ENV_PATH).toBe('/etc/dasklab/proxy.env');
  });

  test('JupyterLab reads the proxy (pip install in a notebook reaches the index), and runs without one', () => {
    const unit = unitWrittenTo(STUDENT, /"\$UNIT_DIR\/jupyterlab\.service/);
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/dasklab\/proxy\.env$/m);
  });

  test("a TLS worker's certificate refresh before each start of its Dask service reads the proxy", () => {
    // GIVEN the worker's Dask unit, and the drop-in that runs the refresh before each of its starts
    const unit = unitWrittenTo(TLS_WORKER, /"\$UNIT_DIR\/\$unit/);
    const { parameters, body } = renderBootstrapSource(TLS_WORKER);
    expect(parameters).toMatch(/^DASKLAB_DASK_UNIT='dask-worker'$/m);
    expect(body).toMatch(/dropin="\$UNIT_DIR\/\$DASKLAB_DASK_UNIT\.service\.d"/);
    expect(body).toContain('ExecStartPre=+$INSTALL_PATH tls-refresh');
    // THEN the unit's environment, which its ExecStartPre= commands get too, holds the proxy when there is one
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/dasklab\/proxy\.env$/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/dask\/venv\/bin\/dask worker /m);
  });
});
