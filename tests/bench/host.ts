import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_DIR } from './synth';

/**
 * What the figures were measured on and against: the host, the versions, the
 * commit, and whether something else was competing for the CPU (another
 * twin run, say), since all timings are wall-clock.
 */

export interface HostInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  awsCdkCli?: string;
  awsCdkLib?: string;
  /** `git rev-parse --short HEAD`, with "+dirty" when the work tree has changes. */
  commit?: string;
  root: boolean;
}

function packageVersion(name: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_DIR, encoding: 'utf8' });
  return head.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}

export function hostInfo(): HostInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    awsCdkCli: packageVersion('aws-cdk'),
    awsCdkLib: packageVersion('aws-cdk-lib'),
    commit: gitCommit(),
    root: process.getuid?.() === 0,
  };
}

/** The 1-minute load average and the systemd-nspawn processes not started by this process. */
export interface Contention {
  loadAverage1m: number;
  /** PIDs of systemd-nspawn processes running that this bench did not start. */
  foreignContainers: number[];
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function isOurs(pid: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf(p), hops++) {
    if (p === process.pid) return true;
  }
  return false;
}

export function contention(): Contention {
  const foreign: number[] = [];
  for (const entry of fs.existsSync('/proc') ? fs.readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'systemd-nspawn' && !isOurs(Number(entry))) {
        foreign.push(Number(entry));
      }
    } catch {
      /* gone */
    }
  }
  return { loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100, foreignContainers: foreign };
}

/** A warning line when the measurement shared the machine, else undefined. */
export function contentionWarning(c: Contention, cpus: number): string | undefined {
  const parts: string[] = [];
  if (c.foreignContainers.length > 0) parts.push(`${c.foreignContainers.length} other container(s) running (systemd-nspawn pids ${c.foreignContainers.join(', ')})`);
  if (c.loadAverage1m > cpus * 0.75) parts.push(`load average ${c.loadAverage1m} on ${cpus} CPUs`);
  return parts.length ? `measured while the host was busy: ${parts.join('; ')}; wall times include that contention` : undefined;
}
