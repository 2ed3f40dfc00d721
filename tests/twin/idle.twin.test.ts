import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SignalResult, Twin, TwinMachine } from './launcher';
import { sleep } from './proc';
import { sshArgs } from './ssh';
import { diagnostics, report, twinDescribe } from './support';

/**
 * The idle stop of lab machines, with the shortest limit (lab.idleStopMinutes 1;
 * the check runs once a minute): three students' machines, one case each, in
 * parallel. Each case starts as soon as its machine has signalled.
 *   idle-a: nobody logged in, CPU idle -> the machine powers itself off.
 *   idle-b: an SSH session open (sleeping) for 3 min -> still running, never idle.
 *   idle-c: a CPU-bound process (not a session) for 3 min -> still running, never idle.
 * Each machine sees its own CPU counters at /proc/stat (proc-stat.ts), as an
 * EC2 instance does, so the busy machine does not keep the others up.
 */
const ROSTER = ['idle-a', 'idle-b', 'idle-c'];
/** How long the session and the busy process are held. */
const HOLD_SECONDS = 190;
/** How long an idle machine may take to power off after signalling. */
const IDLE_STOP_LIMIT_SECONDS = 240;

interface Outcome {
  signal: SignalResult;
  /** Seconds from the signal to the container's exit, or undefined if it kept running. */
  stoppedAfter?: number;
  runningAtEnd: boolean;
  minutes?: string;
  journal: string;
  procStat?: string;
}

twinDescribe('twin: idle stop of lab machines', () => {
  let twin: Twin;
  let dir: string;
  const outcomes = new Map<string, Outcome>();
  const children: ChildProcess[] = [];

  /**
   * Watches a machine for `seconds` after its signal. The idle check's output
   * also goes to the console (a drop-in of the test's), because the journal is
   * gone with a machine that powered off; no command of the test runs in the
   * machine across its poweroff (a twin exec alive then stalled the shutdown).
   */
  async function watch(m: TwinMachine, signal: SignalResult, seconds: number): Promise<Outcome> {
    const signalledAt = Date.now();
    const out: Outcome = { signal, runningAtEnd: true, journal: '' };
    let exitedAt: number | undefined;
    void twin.exited(m).then(() => (exitedAt = Date.now()));
    out.procStat = (await twin.exec(m, ['head', '-n', '1', '/proc/stat'])).stdout.trim();
    while (Date.now() - signalledAt < seconds * 1000 && exitedAt === undefined) await sleep(1000);
    if (exitedAt !== undefined) {
      out.stoppedAfter = (exitedAt - signalledAt) / 1000;
      out.runningAtEnd = false;
    } else {
      out.minutes = (await twin.exec(m, ['cat', '/var/lib/dasklab/idle/minutes'])).stdout.trim();
      out.runningAtEnd = twin.isRunning(m);
    }
    out.journal = fs.readFileSync(twin.consoleLog(m), 'utf8').split('\n').filter((l) => l.includes('dasklab-idle:')).join('\n');
    return out;
  }

  /** Copies the idle check's output to the console log, which outlives the machine. */
  async function idleOutputToConsole(m: TwinMachine): Promise<void> {
    const r = await twin.exec(m, ['sh', '-c', [
      'mkdir -p /etc/systemd/system/dasklab-idle.service.d',
      'printf "[Service]\\nStandardOutput=journal+console\\n" >/etc/systemd/system/dasklab-idle.service.d/twin-test-console.conf',
      'systemctl daemon-reload',
    ].join(' && ')]);
    if (r.code !== 0) throw new Error(`drop-in: ${r.stderr}`);
  }

  async function runCase(m: TwinMachine): Promise<void> {
    const student = m.tags['dasklab:student'];
    const signal = await twin.waitForSignal(m);
    if (signal.status !== 'SUCCESS') {
      outcomes.set(student, { signal, runningAtEnd: twin.isRunning(m), journal: '' });
      return;
    }
    await idleOutputToConsole(m);
    if (student === 'idle-a') {
      outcomes.set(student, await watch(m, signal, IDLE_STOP_LIMIT_SECONDS));
    } else if (student === 'idle-b') {
      const session = spawn('ip', sshArgs(twin, m, m.keyPair!.privateKeyPath!, `sleep ${HOLD_SECONDS + 30}`), { stdio: 'ignore' });
      children.push(session);
      const o = await watch(m, signal, HOLD_SECONDS);
      o.journal += `\n[test] ssh session still open at the end: ${session.exitCode === null}`;
      outcomes.set(student, o);
      session.kill('SIGTERM');
    } else {
      const r = await twin.exec(m, ['systemd-run', '--unit=dasklab-test-busy', '--collect', '--quiet',
        'python3', '-c', 'while True: pass']);
      if (r.code !== 0) throw new Error(`systemd-run: ${r.stderr}`);
      const o = await watch(m, signal, HOLD_SECONDS);
      o.journal += `\n[test] busy process still active at the end: ${(await twin.exec(m, ['systemctl', 'is-active', 'dasklab-test-busy']).catch(() => ({ stdout: 'gone' }))).stdout.trim()}`;
      outcomes.set(student, o);
      await twin.exec(m, ['systemctl', 'stop', 'dasklab-test-busy']).catch(() => undefined);
    }
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-idle-test-'));
    const config = path.join(dir, 'idle.config.json');
    fs.writeFileSync(config, JSON.stringify({
      name: 'dasklab',
      access: { sshCidrs: ['10.213.0.1/32'] },
      lab: { roster: ROSTER, idleStopMinutes: 1 },
    }));
    twin = await Twin.start({ stacks: /^dasklab-Lab-\d+$/, context: { config }, timeoutSeconds: 600 });
    await Promise.all(twin.machines.map(runCase));
    await report(twin, [...outcomes.values()].map((o) => o.signal));
    for (const [student, o] of outcomes) {
      process.stderr.write(`\n--- ${student}: ${o.runningAtEnd ? 'running' : `stopped ${o.stoppedAfter?.toFixed(0)} s after its signal`}; idle minutes ${o.minutes ?? '-'}; /proc/stat: ${o.procStat}\n${o.journal}\n`);
    }
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const outcome = async (student: string): Promise<Outcome> => {
    const o = outcomes.get(student);
    if (!o) throw new Error(`no outcome for ${student}`);
    if (o.signal.status !== 'SUCCESS') throw new Error(`${student}: ${o.signal.status}: ${o.signal.reason}\n${await diagnostics(twin)}`);
    return o;
  };

  test('the machines see their own CPU counters', async () => {
    for (const student of ROSTER) expect((await outcome(student)).procStat).toMatch(/^cpu +\d+ 0 0 \d+ 0 0 0 0 0 0$/);
  });

  test('an idle machine (nobody logged in, CPU idle) powers itself off', async () => {
    const o = await outcome('idle-a');
    expect({ running: o.runningAtEnd, journal: o.journal }).toEqual({ running: false, journal: expect.stringContaining('stopping the machine') });
    expect(o.stoppedAfter).toBeLessThan(IDLE_STOP_LIMIT_SECONDS);
  });

  test('a machine with an open SSH session keeps running, counted as a session', async () => {
    const o = await outcome('idle-b');
    expect({ running: o.runningAtEnd, minutes: o.minutes }).toEqual({ running: true, minutes: '0' });
    // One SSH login is one logind session on Ubuntu 24.04 (systemd 255); from systemd 256
    // on (the twin's trixie has 257) logind lists the user's manager as a second one.
    expect(o.journal).toMatch(/sessions=[12] /);
    expect(o.journal).not.toMatch(/idle_for=[1-9]/);
    expect(o.journal).toContain('ssh session still open at the end: true');
  });

  test('a machine running a CPU-bound process keeps running', async () => {
    const o = await outcome('idle-c');
    expect({ running: o.runningAtEnd, minutes: o.minutes }).toEqual({ running: true, minutes: '0' });
    expect(o.journal).toMatch(/sessions=0 cpu=([1-9]\d|100)%/);
    expect(o.journal).not.toMatch(/idle_for=[1-9]/);
    expect(o.journal).toContain('busy process still active at the end: active');
  });
});
