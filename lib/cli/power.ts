/**
 * `dasklab stop` / `start`: changes the state of machines and waits, with the
 * SDK's waiters, until each one gets there. Each machine is handled on its own
 * so one failure does not hide what happened to the others.
 */
import {
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
} from '@aws-sdk/client-ec2';
import { Machine } from './machines';
import { EXIT_AWS_SETUP, expectedErrorOf } from './errors';
import { OutputStream } from './io';
import { StateProgress, watchDescribeInstances } from './progress';

/** What the command does. */
export type PowerAction = 'stop' | 'start';

/** What happened to one machine. */
export interface PowerResult {
  readonly label: string;
  readonly instanceId: string;
  /** The state before the command. */
  readonly before: string;
  readonly outcome: 'stopped' | 'started' | 'already stopped' | 'already running' | 'failed';
  /** Why it failed. */
  readonly reason?: string;
}

/** Options of {@link changePower}. */
export interface PowerOptions {
  /** How long to wait for each machine, in seconds. */
  readonly timeoutSeconds: number;
  /** Where progress goes (stderr). */
  readonly progress: OutputStream;
  /**
   * Seconds between the waiters' polls: from `min`, backing off to `max`.
   * @default {@link POLL_SECONDS}
   */
  readonly pollSeconds?: { readonly min: number; readonly max: number };
  readonly now?: () => Date;
}

/** Stops or starts `machines`, waiting for each; never throws for one machine's failure. */
export async function changePower(ec2: EC2Client, machines: readonly Machine[], action: PowerAction, options: PowerOptions): Promise<PowerResult[]> {
  const progress = new StateProgress(options.progress, new Map(machines.map((m) => [m.instanceId, m.label])), options.now);
  for (const m of machines) progress.seed(m.instanceId, m.state);
  const unwatch = watchDescribeInstances(ec2, (instance) => {
    if (instance.InstanceId && instance.State?.Name) progress.update(instance.InstanceId, instance.State.Name);
  });
  progress.start();
  try {
    return await Promise.all(
      machines.map((machine) =>
        (action === 'stop' ? stopOne : startOne)(ec2, machine, options).catch((error: unknown): PowerResult => {
          // Bad credentials fail every machine alike: report once, with the fix.
          if (expectedErrorOf(error)?.exitCode === EXIT_AWS_SETUP) throw error;
          return {
            label: machine.label,
            instanceId: machine.instanceId,
            before: machine.state,
            outcome: 'failed',
            reason: reasonOf(error, progress.stateOf(machine.instanceId), options.timeoutSeconds),
          };
        }),
      ),
    );
  } finally {
    progress.finish();
    unwatch();
  }
}

async function stopOne(ec2: EC2Client, machine: Machine, options: PowerOptions): Promise<PowerResult> {
  const result = (outcome: PowerResult['outcome'], reason?: string): PowerResult => ({
    label: machine.label, instanceId: machine.instanceId, before: machine.state, outcome, reason,
  });
  switch (machine.state) {
    case 'stopped':
      return result('already stopped');
    case 'stopping':
      break;
    case 'pending':
    case 'running':
      await ec2.send(new StopInstancesCommand({ InstanceIds: [machine.instanceId] }));
      break;
    default:
      return result('failed', `the instance is ${machine.state}`);
  }
  await waitUntilInstanceStopped(waiterParams(ec2, options), { InstanceIds: [machine.instanceId] });
  return result('stopped');
}

async function startOne(ec2: EC2Client, machine: Machine, options: PowerOptions): Promise<PowerResult> {
  const result = (outcome: PowerResult['outcome'], reason?: string): PowerResult => ({
    label: machine.label, instanceId: machine.instanceId, before: machine.state, outcome, reason,
  });
  switch (machine.state) {
    case 'running':
      return result('already running');
    case 'pending':
      break;
    case 'stopping':
      // EC2 refuses to start a stopping instance: let it stop first.
      await waitUntilInstanceStopped(waiterParams(ec2, options), { InstanceIds: [machine.instanceId] });
      await ec2.send(new StartInstancesCommand({ InstanceIds: [machine.instanceId] }));
      break;
    case 'stopped':
      await ec2.send(new StartInstancesCommand({ InstanceIds: [machine.instanceId] }));
      break;
    default:
      return result('failed', `the instance is ${machine.state}`);
  }
  await waitUntilInstanceRunning(waiterParams(ec2, options), { InstanceIds: [machine.instanceId] });
  return result('started');
}

/**
 * How often the waiters poll. The SDK's own defaults (15 s, backing off to
 * 120 s) would show a state change up to two minutes late; DescribeInstances
 * is cheap, so we poll more often.
 */
export const POLL_SECONDS = { min: 5, max: 15 } as const;

function waiterParams(ec2: EC2Client, options: PowerOptions) {
  const poll = options.pollSeconds ?? POLL_SECONDS;
  return { client: ec2, maxWaitTime: options.timeoutSeconds, minDelay: poll.min, maxDelay: poll.max };
}

/**
 * One line for a failure. The waiters throw an Error whose message is a JSON
 * dump of their last answer; we say what it means instead.
 */
export function reasonOf(error: unknown, lastState: string | undefined, timeoutSeconds: number): string {
  const err = error as Error;
  if (err.name === 'TimeoutError') {
    return `timed out after ${formatDuration(timeoutSeconds)}${lastState ? ` (still ${lastState})` : ''}`;
  }
  if (err.message?.startsWith('{')) return `the instance became ${lastState ?? 'something unexpected'}`;
  return `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message?.split('\n')[0] ?? String(error)}`;
}

/** "45 s" or "10 min". */
export function formatDuration(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}
