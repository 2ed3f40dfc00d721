/**
 * Progress of machines changing state, shown while the SDK's waiters poll.
 *
 * The waiters (waitUntilInstanceStopped, ...) poll DescribeInstances but tell
 * nobody what they saw. Rather than poll a second time for the display, a
 * middleware on the EC2 client watches the waiters' own DescribeInstances
 * answers and reports each instance's state.
 *
 * Output: one line per state change. On a terminal, a status line below them
 * is redrawn every second (elapsed time); elsewhere (CI logs, pipes) nothing
 * else is printed, so logs stay free of spinner noise.
 */
import { EC2Client, Instance } from '@aws-sdk/client-ec2';
import { OutputStream } from './io';

let watcherCount = 0;

/**
 * Calls `onInstance` with every instance in every DescribeInstances answer
 * the client receives, until the returned function is called.
 */
export function watchDescribeInstances(ec2: EC2Client, onInstance: (instance: Instance) => void): () => void {
  const name = `dasklabProgress${++watcherCount}`;
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'DescribeInstancesCommand') {
        const output = result.output as { Reservations?: { Instances?: Instance[] }[] };
        for (const reservation of output.Reservations ?? []) {
          for (const instance of reservation.Instances ?? []) onInstance(instance);
        }
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return () => {
    ec2.middlewareStack.remove(name);
  };
}

/** Shows state changes of a set of machines. */
export class StateProgress {
  private readonly states = new Map<string, string>();
  private readonly started: number;
  private timer?: NodeJS.Timeout;
  private statusShown = false;

  /**
   * @param stream where to write (stderr)
   * @param labels the label of each instance id, for the lines
   * @param now the clock
   */
  constructor(
    private readonly stream: OutputStream,
    private readonly labels: ReadonlyMap<string, string>,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.started = now().getTime();
  }

  /** Starts the redrawn status line (terminals only). */
  start(): void {
    if (this.stream.isTTY && this.timer === undefined) {
      this.timer = setInterval(() => this.drawStatus(), 1000);
      this.timer.unref();
    }
  }

  /** The last state seen of an instance. */
  stateOf(instanceId: string): string | undefined {
    return this.states.get(instanceId);
  }

  /** Records the state a machine starts from, without a line. */
  seed(instanceId: string, state: string): void {
    this.states.set(instanceId, state);
  }

  /** Records a state; prints a line if it changed. */
  update(instanceId: string, state: string): void {
    if (!this.labels.has(instanceId) || this.states.get(instanceId) === state) return;
    const before = this.states.get(instanceId);
    this.states.set(instanceId, state);
    this.clearStatus();
    const label = this.labels.get(instanceId)!;
    this.stream.write(`  ${label} (${instanceId}): ${before === undefined ? state : `${before} -> ${state}`}  [${this.elapsed()}]\n`);
    this.drawStatus();
  }

  /** Stops the status line and removes it. */
  finish(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.clearStatus();
  }

  private elapsed(): string {
    const seconds = Math.round((this.now().getTime() - this.started) / 1000);
    return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  }

  private drawStatus(): void {
    if (!this.stream.isTTY || this.timer === undefined) return;
    const counts = new Map<string, number>();
    for (const state of this.states.values()) counts.set(state, (counts.get(state) ?? 0) + 1);
    const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ') || 'waiting';
    this.stream.write(`\r\x1b[2K  ... ${summary} (${this.elapsed()})`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) this.stream.write('\r\x1b[2K');
    this.statusShown = false;
  }
}
