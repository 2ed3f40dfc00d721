/**
 * The pip phase's private index (userdata/bootstrap.sh, userdata/codeartifact.sh) run by bash on this
 * machine: with python.codeArtifact it gets a token through boto3 from a
 * CodeArtifact endpoint (here a local HTTP server on loopback that answers
 * GetAuthorizationToken and GetRepositoryEndpoint as AWS's API reference
 * describes them), and hands it to pip in the environment only: never on a
 * command line, never in what the phase prints (the bootstrap log).
 * Stand-ins: `as_user` runs a fake pip that records its argv and environment
 * and prints index URLs the way pip does; `log` writes to stderr.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';

/** The bootstrap and its CodeArtifact part, which the renderer embeds where python.codeArtifact is set. */
const SCRIPT = ['bootstrap.sh', 'codeartifact.sh'].map((f) => fs.readFileSync(path.join(USERDATA_DIR, f), 'utf8')).join('\n');
const TOKEN = 'eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0.SECRET-TOKEN/with+chars=';
const ENDPOINT = 'https://acme-111122223333.d.codeartifact.eu-central-1.amazonaws.com/pypi/pypi-store/';

function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(SCRIPT);
  if (match === null) throw new Error(`userdata/bootstrap.sh has no function ${name}`);
  return match[0];
}

/** A CodeArtifact endpoint on loopback; records each request's method, path and query. */
async function fakeCodeArtifact(): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    // Query parameters sorted: their order is the SDK's choice.
    requests.push(`${req.method} ${url.pathname}?${[...url.searchParams].map(([k, v]) => `${k}=${v}`).sort().join('&')}`);
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'POST' && url.pathname === '/v1/authorization-token') {
      res.end(JSON.stringify({ authorizationToken: TOKEN, expiration: 1700003600 }));
    } else if (url.pathname === '/v1/repository/endpoint') {
      res.end(JSON.stringify({ repositoryEndpoint: ENDPOINT }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs pip_install in bash with the given parameters; returns status and everything it printed. */
function runPipInstall(dir: string, parameters: string[]): Promise<{ status: number; output: string }> {
  const fakePip = path.join(dir, 'fake-pip');
  fs.writeFileSync(
    fakePip,
    [
      '#!/bin/bash',
      `printf '%s\\n' "$@" >'${dir}/argv'`,
      `printf '%s' "\${PIP_INDEX_URL:-}" >'${dir}/pip-index-url'`,
      // What pip prints: the index it reads (pip masks only a password), and a download URL.
      'echo "Looking in indexes: ${PIP_INDEX_URL:-https://pypi.org/simple}"',
      'echo "Downloading https://files.example.org/x-1.0.whl?X-Amz-Signature=abc123 (10 kB)"',
    ].join('\n'),
    { mode: 0o755 },
  );
  const script = [
    'set -Eeuo pipefail',
    `STATE_DIR='${dir}'`,
    `DASKLAB_VENV='${dir}/venv'`,
    // No version set yet: pip gets no constraints.
    `VERSION_PINS='${dir}/version-pins.txt'`,
    "DASKLAB_PIP_PACKAGES=('numpy' 'dask[complete]')",
    ...parameters,
    'log() { printf "%s\\n" "$*" >&2; }',
    'imds_get() { echo eu-central-1; }',
    `as_user() { shift 3; '${fakePip}' "$@"; }`,
    // What pip installs: the packages (bootstrap.sh's own line).
    /^PIP_PACKAGES=.*$/m.exec(SCRIPT)![0],
    ...['redact_urls', 'codeartifact_index_url', 'pip_install'].map(functionText),
    'pip_install',
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], {
      env: { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status: status ?? -1, output }));
  });
}

describe('the pip phase with python.codeArtifact', () => {
  let dir: string;
  let aws: Awaited<ReturnType<typeof fakeCodeArtifact>>;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-pip-'));
    aws = await fakeCodeArtifact();
  });
  afterEach(async () => {
    await aws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const codeArtifact = (awsUrl: string, owner = '111122223333') => [
    "DASKLAB_PIP_INDEX_URL=''",
    `DASKLAB_AWS_ENDPOINT_URL='${awsUrl}'`,
    "DASKLAB_CODEARTIFACT_DOMAIN='acme'",
    "DASKLAB_CODEARTIFACT_REPOSITORY='pypi-store'",
    `DASKLAB_CODEARTIFACT_DOMAIN_OWNER='${owner}'`,
    "DASKLAB_CODEARTIFACT_REGION=''",
  ];

  test('pip gets the repository with a fresh token in its environment, and nothing prints the token', async () => {
    // WHEN the pip phase installs from CodeArtifact
    const { status, output } = await runPipInstall(dir, codeArtifact(aws.url));
    // THEN the token and endpoint were asked for the configured domain, owner and repository, for one hour
    expect(status).toBe(0);
    expect(aws.requests).toEqual([
      'POST /v1/authorization-token?domain-owner=111122223333&domain=acme&duration=3600',
      'GET /v1/repository/endpoint?domain-owner=111122223333&domain=acme&format=pypi&repository=pypi-store',
    ]);
    // AND pip found the index with the token in PIP_INDEX_URL
    expect(fs.readFileSync(path.join(dir, 'pip-index-url'), 'utf8')).toBe(
      `https://aws:${encodeURIComponent(TOKEN)}@acme-111122223333.d.codeartifact.eu-central-1.amazonaws.com/pypi/pypi-store/simple/`,
    );
    // AND not on its command line
    const argv = fs.readFileSync(path.join(dir, 'argv'), 'utf8');
    expect(argv).toBe('install\n--prefer-binary\n--progress-bar\noff\nnumpy\ndask[complete]\n');
    // AND what was printed (the bootstrap log) holds neither the token nor a query string
    expect(output).not.toContain('SECRET-TOKEN');
    expect(output).not.toContain(encodeURIComponent(TOKEN).slice(0, 20));
    expect(output).toContain('Looking in indexes: https://***@acme-111122223333.d.codeartifact.eu-central-1.amazonaws.com/pypi/pypi-store/simple/');
    expect(output).toContain('Downloading https://files.example.org/x-1.0.whl?*** (10 kB)');
    expect(output).not.toContain('X-Amz-Signature');
  });

  test('without a domain owner the caller\'s account is meant (no domain-owner sent)', async () => {
    const { status } = await runPipInstall(dir, codeArtifact(aws.url, ''));
    expect(status).toBe(0);
    expect(aws.requests[0]).toBe('POST /v1/authorization-token?domain=acme&duration=3600');
  });

  test('when the token cannot be had, the phase fails saying why, and pip does not run', async () => {
    // GIVEN an endpoint that refuses (nothing listens there)
    await aws.close();
    const { status, output } = await runPipInstall(dir, codeArtifact('http://127.0.0.1:9'));
    expect(status).not.toBe(0);
    expect(output).toContain('could not get a CodeArtifact token for acme/pypi-store: ');
    expect(fs.existsSync(path.join(dir, 'argv'))).toBe(false);
    aws = await fakeCodeArtifact(); // for afterEach
  });

  test('without CodeArtifact nothing changes: no token, no PIP_INDEX_URL', async () => {
    const { status } = await runPipInstall(dir, ["DASKLAB_PIP_INDEX_URL='https://pypi.example.org/simple/'", `DASKLAB_AWS_ENDPOINT_URL='${aws.url}'`]);
    expect(status).toBe(0);
    expect(aws.requests).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'pip-index-url'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(dir, 'argv'), 'utf8')).toContain('--index-url\nhttps://pypi.example.org/simple/\n');
  });
});
