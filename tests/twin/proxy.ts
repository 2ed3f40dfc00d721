import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { onCleanup } from './cleanup';
import { HUB_IP, PORTS } from './network';

/**
 * The HTTP(S) proxy of a network whose only way out is a proxy (twin option
 * `wayOut: 'proxy'`): proxy.py in the hub namespace, listening on the hub's
 * bridge address only. It forwards only to the twin's own services, the
 * apt repository and pip index (which stand for the Ubuntu archive and PyPI on
 * the internet) and the signal receiver and AWS endpoint (AWS's public
 * endpoints); anything else it refuses (403), so nothing it carries leaves the
 * twin's namespaces. Every request it saw is in `requests`.
 */

export const PROXY_PORT = 3128;
/** What a config names as `network.proxy` to use the twin's proxy. */
export const TWIN_PROXY_URL = `http://${HUB_IP}:${PROXY_PORT}`;
/** Where the proxy forwards to: host:port of the twin's services. */
export const PROXY_TARGETS: readonly string[] = [PORTS.apt, PORTS.pip, PORTS.signal, PORTS.ec2].map((port) => `${HUB_IP}:${port}`);

/** One request the proxy handled. */
export interface ProxiedRequest {
  /** Seconds since the epoch. */
  time: number;
  /** The machine's address it came from. */
  client: string;
  /** GET, HEAD, PUT, POST or CONNECT. */
  method: string;
  /** The absolute URL asked for, or host:port of a CONNECT. */
  target: string;
  /** The status the client got (the upstream's, or the proxy's own 403/502). */
  status: number;
}

export class TwinProxy {
  readonly requests: ProxiedRequest[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly unregister: () => void,
  ) {}

  /** Starts the proxy in the hub namespace; resolves once it listens. */
  static async start(hubNetns: string, runDir: string, log: (msg: string) => void): Promise<TwinProxy> {
    // setpriv --pdeathsig: the proxy dies with us even if we are SIGKILLed.
    const child = spawn(
      'setpriv',
      ['--pdeathsig', 'SIGKILL', 'ip', 'netns', 'exec', hubNetns, '/usr/bin/python3', path.join(__dirname, 'proxy.py'), HUB_IP, String(PROXY_PORT), PROXY_TARGETS.join(',')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = child.pid!;
    const proxy = new TwinProxy(child, onCleanup(`kill the proxy (pid ${pid})`, () => killQuietly(pid)));
    child.stderr!.pipe(fs.createWriteStream(path.join(runDir, 'proxy-stderr.log')));
    const requestLog = fs.createWriteStream(path.join(runDir, 'proxy-requests.log'));
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`proxy.py exited (${code}); see ${runDir}/proxy-stderr.log`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const ev = JSON.parse(line);
        if (ev.event === 'ready') resolve();
        else if (ev.event === 'request') {
          proxy.requests.push({ time: ev.time, client: ev.client, method: ev.method, target: ev.target, status: ev.status });
          requestLog.write(`${line}\n`);
        }
      });
    });
    log(`proxy ${TWIN_PROXY_URL} (pid ${pid}) forwards to ${PROXY_TARGETS.join(', ')} only`);
    return proxy;
  }

  stop(): void {
    this.unregister();
    this.child.removeAllListeners('exit');
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
