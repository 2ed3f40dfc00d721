/**
 * The readiness signal (signal_cloudformation in userdata/bootstrap.sh) run by
 * bash on this machine against a loopback stand-in for the wait-condition
 * handle's presigned S3 URL. Stand-ins: `log` (stderr), `instance_id`.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');

function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(BOOTSTRAP);
  if (match === null) throw new Error(`no function ${name}`);
  return match[0];
}

/** A loopback handle that records each PUT body; and a loopback port where nothing listens. */
async function listen(handler?: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function runSignal(env: Record<string, string>): Promise<{ status: number; log: string }> {
  const script = [
    'set -Eeuo pipefail',
    'log() { printf "%s\\n" "$*" >&2; }',
    'instance_id() { echo i-0123456789abcdef0; }',
    `VERSIONS_JSON='{"dask": "2024.1.0"}'`,
    functionText('signal_put'),
    functionText('signal_cloudformation'),
    'signal_cloudformation FAILURE "network: the proxy does not answer"',
  ].join('\n');
  return new Promise((resolve) => {
    // The system's python3 and curl, as on the machine: not a version manager's shims on this host's PATH,
    // which without HOME share a rehash lock that a killed run can leave behind (then each call waits 60 s).
    // --norc: with no SHLVL and a socket for stdin, bash takes itself for a remote shell and reads ~/.bashrc.
    const child = spawn('bash', ['--norc', '-c', script], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    let log = '';
    child.stderr.on('data', (chunk) => (log += chunk));
    child.on('close', (status) => resolve({ status: status ?? -1, log }));
  });
}

describe('the readiness signal', () => {
  test('GIVEN a proxy that does not answer WHEN the bootstrap signals its failure THEN the signal goes directly, so the deploy learns why without waiting out its timeout', async () => {
    // GIVEN the handle on loopback, and a proxy port where nothing listens
    const bodies: string[] = [];
    const handle = await listen((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        bodies.push(`${req.method} ${body}`);
        res.end();
      });
    });
    const deadProxy = await listen();
    await deadProxy.close();
    try {
      // WHEN
      const proxy = `http://127.0.0.1:${deadProxy.port}`;
      const run = await runSignal({ DASKLAB_SIGNAL_URL: `http://127.0.0.1:${handle.port}/handle`, http_proxy: proxy, https_proxy: proxy });
      // THEN the handle got the failure, with its reason, once
      expect(run.log).toContain('signalled FAILURE to CloudFormation');
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0].replace(/^PUT /, ''))).toMatchObject({ Status: 'FAILURE', Reason: 'network: the proxy does not answer', UniqueId: 'i-0123456789abcdef0' });
    } finally {
      await handle.close();
    }
  }, 60_000);

  test('GIVEN no proxy and a handle that cannot be reached THEN the bootstrap says so and goes on (a later boot, with the URL expired)', async () => {
    const gone = await listen();
    await gone.close();
    const run = await runSignal({ DASKLAB_SIGNAL_URL: `http://127.0.0.1:${gone.port}/handle` });
    expect(run.status).toBe(0);
    expect(run.log).toContain('could not signal FAILURE to CloudFormation');
  }, 60_000);
});
