/**
 * moto (https://github.com/getmoto/moto) as a real HTTP server on loopback,
 * for the CLI's tests against AWS APIs over the wire.
 *
 * moto is not packaged for Debian 12 (the host); Debian 13 "trixie" has
 * python3-moto 5.1. So the server runs from a minimal trixie tree made with
 * debootstrap and entered with chroot. A chroot shares the host's network
 * namespace, so the server's 127.0.0.1 is the tests' 127.0.0.1. It needs no
 * /proc or other mounts, so none are made (and none can be left behind).
 *
 * The tree is cached outside the repository ($DASKLAB_MOTO_CACHE, default
 * /var/cache/dasklab-moto) under a hash of what goes into it, built in a temp
 * directory and renamed into place only when complete. Building needs root,
 * debootstrap and Debian's archive; about 80 s the first time.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

/** Debian packages of the tree: moto, its server mode (flask, flask-cors) and what its services import. */
export const MOTO_PACKAGES: readonly string[] = [
  'python3-moto',
  'python3-flask',
  'python3-flask-cors',
  // moto's SSM backend imports yaml.
  'python3-yaml',
  // debootstrap does not resolve virtual packages; python3-cryptography needs this one.
  'python3-cffi-backend',
];
const SUITE = 'trixie';
const MIRROR = 'http://deb.debian.org/debian';
/** Bump to rebuild every cached tree after a change to how it is built. */
const BUILD_VERSION = 1;

/** Where trees are cached. */
export function motoCacheDir(): string {
  return process.env.DASKLAB_MOTO_CACHE || '/var/cache/dasklab-moto';
}

/**
 * Why the moto tests cannot run here, or undefined if they can. Only "not
 * root" is a reason to skip, and not under CI=true, where skipping would hide
 * a broken CI setup; every other problem fails the tests with its cause.
 */
export function motoSkipReason(): string | undefined {
  const root = process.getuid?.() === 0;
  if (root || process.env.CI === 'true') return undefined;
  return 'moto tests skipped: they need root (debootstrap and chroot run the moto server); run them as root, e.g. sudo npm run test:moto';
}

/** The cache key: everything that decides the tree's content. */
export function rootKey(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ SUITE, MIRROR, packages: MOTO_PACKAGES, BUILD_VERSION }));
  return h.digest('hex').slice(0, 16);
}

/** Returns the tree with moto, building it first if it is not cached. */
export function ensureMotoRoot(log: (line: string) => void = () => undefined): string {
  if (process.getuid?.() !== 0) throw new Error('the moto server needs root: debootstrap and chroot');
  const cache = motoCacheDir();
  const dir = path.join(cache, `rootfs-${rootKey()}`);
  if (fs.existsSync(path.join(dir, 'usr', 'bin', 'moto_server'))) return dir;
  if (!fs.existsSync('/usr/sbin/debootstrap')) {
    throw new Error('debootstrap is not installed: apt-get install debootstrap (the moto tests build a Debian trixie tree with it)');
  }
  fs.mkdirSync(path.join(cache, 'debs'), { recursive: true });
  removeStale(cache, path.basename(dir));
  const tmp = path.join(cache, `.tmp-rootfs-${rootKey()}-${process.pid}`);
  log(`building the moto tree ${dir} (debootstrap ${SUITE}: ${MOTO_PACKAGES.join(', ')}) ...`);
  const started = Date.now();
  try {
    execFileSync(
      'debootstrap',
      ['--variant=minbase', `--cache-dir=${path.join(cache, 'debs')}`, `--include=${MOTO_PACKAGES.join(',')}`, SUITE, tmp, MIRROR],
      { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
    );
    if (!fs.existsSync(path.join(tmp, 'usr', 'bin', 'moto_server'))) throw new Error('debootstrap finished but usr/bin/moto_server is missing');
    fs.rmSync(path.join(tmp, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (error) {
    removeTree(tmp);
    if (fs.existsSync(path.join(dir, 'usr', 'bin', 'moto_server'))) return dir; // another process built it meanwhile
    const err = error as Error & { stderr?: Buffer };
    throw new Error(`building the moto tree failed: ${err.message}\n${err.stderr?.toString().slice(-3000) ?? ''}`);
  }
  log(`moto tree built in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

/** Removes trees of other keys and temp trees whose builder is gone. */
function removeStale(cache: string, keep: string): void {
  for (const name of fs.readdirSync(cache)) {
    const temp = /^\.tmp-rootfs-[0-9a-f]+-(\d+)$/.exec(name);
    if ((temp && !isAlive(Number(temp[1]))) || (name.startsWith('rootfs-') && name !== keep)) {
      removeTree(path.join(cache, name));
    }
  }
}

/**
 * rm -rf that first unmounts anything mounted below `dir`: a debootstrap
 * that failed halfway can leave /proc or /sys mounted in its target, and
 * removing files through such a mount would reach the host's.
 */
export function removeTree(dir: string): void {
  const prefix = `${path.resolve(dir)}/`;
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => m !== undefined && m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) execFileSync('umount', ['--lazy', mount]);
  fs.rmSync(dir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the endpoint for every AWS client. */
  readonly endpoint: string;
  readonly pid: number;
  /** Forgets every resource (moto's reset API), for a clean state between tests. */
  reset(): Promise<void>;
  /** Stops the server (by its PID) and waits until it has exited. */
  stop(): Promise<void>;
}

/** Starts moto on a free loopback port and waits until it answers HTTP. */
export async function startMoto(log: (line: string) => void = () => undefined): Promise<MotoServer> {
  const root = ensureMotoRoot(log);
  const port = await freePort();
  const child = spawn('chroot', [root, 'moto_server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The host's Python settings (pyenv, PYTHONPATH) must not leak into the tree's Python.
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const server: MotoServer = {
    endpoint,
    pid: child.pid!,
    reset: async () => {
      const status = await request('POST', `${endpoint}/moto-api/reset`);
      if (status !== 200) throw new Error(`moto reset answered ${status}`);
    },
    stop: () => stopChild(child, exited),
  };
  try {
    await waitUntilServing(endpoint, child, 60_000);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\nmoto output:\n${output}`);
  }
  return server;
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitUntilServing(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    if ((await request('GET', `${endpoint}/moto-api/`).catch(() => 0)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs / 1000} s`);
}

function request(method: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
