import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A machine's own /proc/stat. A container sees the host's /proc/stat, so every
 * machine would count the CPU time of the host and of every other machine as
 * its own; on EC2 an instance's /proc/stat counts its own vCPUs only. The twin
 * binds a file over /proc/stat (read-only; nspawn cannot bind over /proc itself,
 * so a unit of the twin's does it first thing at boot) whose `cpu` lines it rewrites every
 * second from the CPU time of the processes in the machine's PID namespace
 * (utime+stime of the live ones plus cutime+cstime, which holds their reaped
 * children's), as user time; idle is the rest of the wall-clock time of the
 * machine's CPUs (the host's CPU count). Every other line is the host's.
 */
const TICK = 100; // USER_HZ: /proc/stat and /proc/PID/stat count in 1/100 s
const PERIOD_MS = 1000;
const IN_MACHINE = '/run/dasklab-twin-proc';
const UNIT = 'dasklab-twin-proc-stat.service';

export class OwnProcStat {
  private timer?: NodeJS.Timeout;
  private fd: number;
  private startedAt = Date.now();
  private busy = 0;
  private idle = 0;
  private readonly cpus = os.cpus().length;

  readonly file: string;

  /** Creates, in dir, the file (the host's content, idle CPUs) and the unit that binds it at /proc/stat. */
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'stat');
    this.fd = fs.openSync(this.file, 'w+', 0o444);
    this.write();
    fs.writeFileSync(path.join(dir, UNIT), [
      '[Unit]',
      'Description=dasklab twin: the machine\'s own CPU counters at /proc/stat',
      'DefaultDependencies=no',
      'Before=sysinit.target',
      '',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      `ExecStart=/bin/mount --bind ${IN_MACHINE}/stat /proc/stat`,
      '',
    ].join('\n'));
  }

  /** The read-only binds for Machine's bindsRo. */
  get binds(): Array<[string, string]> {
    return [[this.dir, IN_MACHINE], [path.join(this.dir, UNIT), `/etc/systemd/system/${UNIT}`]];
  }

  /** The container init's arguments that start the unit. */
  get initArgs(): string[] {
    return [`systemd.wants=${UNIT}`];
  }

  /** Starts counting the machine's CPU time; leader() is its current PID 1 (0 while there is none). */
  attach(leader: () => number): void {
    this.startedAt = Date.now();
    this.busy = this.idle = 0;
    this.timer = setInterval(() => {
      const pid = leader();
      if (pid) this.update(pid);
    }, PERIOD_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed */
    }
  }

  private update(leaderPid: number): void {
    let ns: string;
    try {
      ns = fs.readlinkSync(`/proc/${leaderPid}/ns/pid`);
    } catch {
      return; // rebooting or gone
    }
    let busy = 0;
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (fs.readlinkSync(`/proc/${name}/ns/pid`) !== ns) continue;
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        busy += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      } catch {
        /* exited meanwhile */
      }
    }
    const total = Math.floor(((Date.now() - this.startedAt) / 1000) * TICK * this.cpus);
    // Counters only grow: time of a process reaped by no one, or double-counted
    // for an instant, must not make them go back.
    this.busy = Math.max(this.busy, Math.min(busy, total));
    this.idle = Math.max(this.idle, total - this.busy);
    this.write();
  }

  private write(): void {
    const host = fs.readFileSync('/proc/stat', 'utf8').split('\n');
    const line = (name: string, busy: number, idle: number) => `${name} ${busy} 0 0 ${idle} 0 0 0 0 0 0`;
    const per = (v: number) => Math.floor(v / this.cpus);
    const out = host.map((l) => {
      if (l.startsWith('cpu ')) return line('cpu ', this.busy, this.idle);
      const m = /^cpu(\d+) /.exec(l);
      return m ? line(`cpu${m[1]}`, per(this.busy), per(this.idle)) : l;
    });
    const buf = Buffer.from(out.join('\n'));
    // In place (the bind pins the inode): one write from offset 0, then cut the rest.
    fs.writeSync(this.fd, buf, 0, buf.length, 0);
    fs.ftruncateSync(this.fd, buf.length);
  }
}
