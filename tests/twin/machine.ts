import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { onCleanup } from './cleanup';
import { mustRun, run, RunResult, sleep } from './proc';

/**
 * One booted machine: a systemd-nspawn container with systemd as PID 1 in its
 * own network namespace, over a tmpfs overlay of the shared rootfs.
 *
 * With --register=no there is no machined to ask, so commands enter the
 * container with nsenter through its leader (the container's PID 1, a child of
 * nspawn).
 */

export interface MachineSpec {
  /** The template's logical id. */
  logicalId: string;
  /** The `dasklab:role` tag. */
  role: string;
  instanceId: string;
  ip: string;
  hostname: string;
  /** Container name (nspawn --machine). */
  name: string;
  rootfs: string;
  netnsPath: string;
  seedDir: string;
  consoleLog: string;
  /**
   * Persistent root: a host-mounted overlay of rootfs whose upper layer lives in
   * this dir for the machine's lifetime, so state survives reboots; a reboot
   * inside (nspawn exits 133) boots the container again on it, as EC2 reboots
   * an instance. Omitted: a tmpfs overlay (--volatile=overlay), lost at stop,
   * and a reboot ends the machine.
   */
  persistentDir?: string;
  /** Extra read-only binds [host path, container path] (files or dirs). */
  bindsRo?: Array<[string, string]>;
  /** Arguments for the container's systemd, e.g. `systemd.wants=UNIT` (read as its kernel command line). */
  initArgs?: string[];
}

export interface ExecOptions {
  /** Run as this user (runuser -u); default root. */
  user?: string;
  input?: string;
  timeoutMs?: number;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Machine {
  /** Epoch ms when nspawn was first started (reboots do not reset it, as for an EC2 instance). */
  startedAt = 0;
  /** Epoch ms when the current boot's nspawn was started. */
  bootedAt = 0;
  /** Reboots so far (persistent machines only). */
  reboots = 0;
  leaderPid = 0;
  /** systemd-nspawn, the leader's parent (itself a child of unshare). */
  nspawnPid = 0;
  /** Resolves with nspawn's exit code when the container is gone for good (not at a reboot). */
  exited: Promise<number> = Promise.resolve(0);
  private child?: ChildProcess;
  private unregister: () => void = () => undefined;
  private resolveExited: (code: number) => void = () => undefined;
  private stopping = false;
  /** A reboot's new boot, while it is being started. */
  private rebooting?: Promise<void>;
  private root = '';
  /** Runs once after the container has stopped for a reboot, before it boots again (a stopped instance's changes). */
  beforeNextBoot?: () => void;
  private unmountRoot: () => void = () => undefined;

  constructor(readonly spec: MachineSpec) {}

  get logicalId(): string {
    return this.spec.logicalId;
  }

  async boot(): Promise<void> {
    const s = this.spec;
    this.startedAt = Date.now();
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.root = s.rootfs;
    if (s.persistentDir) {
      // The overlay is mounted on the host (nspawn cannot overlay the root
      // itself) and unmounted at stop; the run dir's removal unmounts it too.
      const [upper, work, merged] = ['upper', 'work', 'root'].map((d) => path.join(s.persistentDir!, d));
      for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
      await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${s.rootfs},upperdir=${upper},workdir=${work}`, merged]);
      this.unmountRoot = onCleanup(`unmount ${merged}`, () => {
        spawnSync('umount', ['-l', merged], { stdio: 'ignore' });
      });
      this.root = merged;
    }
    await this.start();
  }

  /** Starts nspawn once (a boot); on a reboot of a persistent machine, again. */
  private async start(): Promise<void> {
    const s = this.spec;
    const console = fs.openSync(s.consoleLog, 'a');
    this.bootedAt = Date.now();
    // setpriv --pdeathsig: if we die without cleaning up, unshare is killed (it
    // ignores SIGTERM), and its death sends nspawn SIGTERM (--kill-child), which
    // powers the container off.
    // unshare --time: a time namespace whose boot and monotonic clocks start near
    // zero, so /proc/uptime in the machine counts from its own boot, as on EC2
    // (the bootstrap computes its deadline from it).
    const uptime = Math.max(0, Math.floor(Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0])) - 1);
    this.child = spawn(
      'setpriv',
      [
        '--pdeathsig', 'SIGKILL',
        'unshare', '--time', '--fork', '--kill-child=SIGTERM', '--boottime', `-${uptime}`, '--monotonic', `-${uptime}`,
        'systemd-nspawn', '--boot', '--register=no', '--keep-unit',
        ...(s.persistentDir ? [] : ['--volatile=overlay']),
        `--directory=${this.root}`, `--machine=${s.name}`,
        `--network-namespace-path=${s.netnsPath}`,
        // networkd needs it to configure host0; nspawn grants it only for netns it creates.
        '--capability=CAP_NET_ADMIN',
        `--bind-ro=${s.seedDir}:/var/lib/cloud/seed/nocloud`,
        '--console=read-only',
        '--timezone=off', '--link-journal=no',
        ...(s.bindsRo ?? []).map(([from, to]) => `--bind-ro=${from}:${to}`),
        // After the options: arguments of the container's init.
        ...(s.initArgs ?? []),
      ],
      { stdio: ['ignore', console, console] },
    );
    fs.closeSync(console);
    const child = this.child;
    const pid = child.pid!;
    this.unregister = onCleanup(`kill machine ${s.name} (unshare pid ${pid})`, () => this.killSync());
    const thisBoot = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    void thisBoot.then((code) => {
      // 133: the container asked for a reboot (systemctl reboot).
      if (code === 133 && s.persistentDir && !this.stopping) {
        this.leaderPid = this.nspawnPid = 0;
        this.child = undefined;
        this.unregister();
        this.reboots++;
        const whileDown = this.beforeNextBoot;
        this.beforeNextBoot = undefined;
        try {
          whileDown?.();
        } catch (err) {
          fs.appendFileSync(s.consoleLog, `\n[twin] ${s.name}: while it was down: ${err}\n`);
          this.resolveExited(1);
          return;
        }
        fs.appendFileSync(s.consoleLog, `\n[twin] ${s.name} rebooted (reboot ${this.reboots}); booting it again\n`);
        this.rebooting = this.start().catch((err) => {
          fs.appendFileSync(s.consoleLog, `\n[twin] ${s.name} failed to boot again: ${err}\n`);
          this.resolveExited(1);
        });
        return;
      }
      this.resolveExited(code);
    });
    this.leaderPid = await findLeader(pid, thisBoot);
    this.nspawnPid = parentOf(this.leaderPid);
  }

  /**
   * Empties the persistent root's upper layer while the machine is down (call
   * it from {@link beforeNextBoot}): the next boot is on the image alone, as
   * after EC2 replaces an instance's root volume with its launch state (same
   * instance id and addresses; `dasklab reset`).
   */
  resetPersistentRoot(): void {
    const dir = this.spec.persistentDir;
    if (!dir) throw new Error(`machine ${this.spec.name} has no persistent root to reset`);
    const merged = path.join(dir, 'root');
    // Lazily: the namespaces of processes started meanwhile (ip netns exec) hold copies of the mount.
    const umount = spawnSync('umount', ['-l', merged], { encoding: 'utf8' });
    if (umount.status !== 0) throw new Error(`umount ${merged}: ${umount.stderr}`);
    // New layers under new names: the old ones may still be held by those copies.
    this.rootLayers++;
    const [upper, work] = ['upper', 'work'].map((d) => path.join(dir, `${d}-${this.rootLayers}`));
    for (const d of [upper, work]) fs.mkdirSync(d);
    const mount = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.spec.rootfs},upperdir=${upper},workdir=${work}`, merged], { encoding: 'utf8' });
    if (mount.status !== 0) throw new Error(`mount ${merged}: ${mount.stderr}`);
  }

  /** Root volumes replaced so far ({@link resetPersistentRoot}). */
  private rootLayers = 0;

  /** Whether nspawn is still running. */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Runs a command inside the machine; as root unless opts.user is given. */
  async exec(cmd: string[], opts: ExecOptions = {}): Promise<RunResult> {
    if (!this.leaderPid || !this.running) throw new Error(`machine ${this.spec.name} is not running`);
    const asUser = opts.user && opts.user !== 'root' ? ['runuser', '-u', opts.user, '--'] : [];
    return run(
      'nsenter',
      ['-t', String(this.leaderPid), '-a', '--', '/usr/bin/env', '-i', `PATH=${PATH}`, 'LANG=C.UTF-8',
        'HOME=/root', ...asUser, ...cmd],
      { input: opts.input, timeoutMs: opts.timeoutMs },
    );
  }

  /** Powers the container off (nspawn turns SIGTERM into a halt), killing it if that takes too long. */
  async stop(graceMs = 15000): Promise<void> {
    this.stopping = true;
    await this.rebooting;
    if (this.running) {
      signal(this.nspawnPid || this.child!.pid!, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const halted = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
      ]);
      clearTimeout(timer);
      if (!halted) this.killSync();
      await this.exited;
    }
    this.unregister();
    this.unmountRoot();
  }

  /** Kills the container's PID 1 (the kernel then kills everything in its PID namespace), nspawn and unshare. */
  private killSync(): void {
    for (const pid of [this.leaderPid, this.nspawnPid, this.child?.pid]) {
      if (pid) signal(pid, 'SIGKILL');
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function parentOf(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The container's PID 1: the descendant of `root` (unshare -> nspawn -> it) whose PID in its own namespace is 1. */
async function findLeader(root: number, exited: Promise<number>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300 && !gone; i++) {
    const grandchildren = childrenOf(root).flatMap(childrenOf);
    for (const pid of grandchildren) {
      try {
        const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/);
        if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return pid;
      } catch {
        /* raced with exit */
      }
    }
    await sleep(100);
  }
  throw new Error(`systemd-nspawn (under pid ${root}) ${gone ? 'exited' : 'started no container'}; see the console log`);
}

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
