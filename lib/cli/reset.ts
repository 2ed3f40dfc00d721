/**
 * `dasklab reset`: gives a machine back its first-boot state. EC2 replaces the
 * root volume with a fresh one from the launch snapshot, in place: the
 * instance id, its IP addresses and its key pair stay. The machine reboots,
 * cloud-init sees a fresh disk and runs the bootstrap again, which tags the
 * instance `bootstrapping` and then `ready`.
 */
import {
  CreateReplaceRootVolumeTaskCommand,
  DeleteTagsCommand,
  DescribeReplaceRootVolumeTasksCommand,
  DescribeTagsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { BOOTSTRAP_TAG, formatReadiness, readinessOf } from './bootstrap-tag';
import { CliError } from './errors';
import { Machine } from './machines';
import { pollUntil, PollTimeout } from './poll';
import { formatDuration } from './power';

/** Options of {@link resetMachine}. */
export interface ResetOptions {
  /** How long the whole reset may take, in seconds (replacement and bootstrap). */
  readonly timeoutSeconds: number;
  /** Seconds between polls. */
  readonly pollSeconds: number;
  /** Reports progress, one line at a time. */
  readonly onProgress: (line: string) => void;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What a finished reset reports. */
export interface ResetResult {
  readonly label: string;
  readonly instanceId: string;
  readonly taskId: string;
  /** Seconds from the request to `ready`. */
  readonly seconds: number;
}

/** Task states that end a replacement unsuccessfully. */
const TASK_FAILED = new Set(['failed', 'failed-detached', 'failing']);

/**
 * Replaces the machine's root volume with its launch state and waits until its
 * bootstrap reports ready again.
 *
 * @throws CliError when the machine is not running, the replacement fails, the
 *   bootstrap fails, or the timeout passes
 */
export async function resetMachine(ec2: EC2Client, machine: Machine, options: ResetOptions): Promise<ResetResult> {
  const now = options.now ?? (() => new Date());
  const started = now().getTime();
  const poll = { intervalMs: options.pollSeconds * 1000, deadline: started + options.timeoutSeconds * 1000, now: () => now().getTime(), sleep: options.sleep };
  const name = `${machine.label} (${machine.instanceId})`;
  if (machine.state !== 'running') {
    throw new CliError(`${name} is ${machine.state}; EC2 replaces the root volume of a running machine only. Start it first: npx dasklab start ${machine.label}`);
  }

  // No snapshot or image given: EC2 restores the volume to its launch state.
  // The replaced volume is deleted, or every reset would leave a paid-for volume behind.
  const created = await ec2.send(new CreateReplaceRootVolumeTaskCommand({ InstanceId: machine.instanceId, DeleteReplacedRootVolume: true }));
  const taskId = created.ReplaceRootVolumeTask?.ReplaceRootVolumeTaskId;
  if (taskId === undefined) throw new CliError(`EC2 did not return a replacement task for ${name}.`);
  options.onProgress(`replacing the root volume of ${name}: task ${taskId}`);
  // The old "ready" must not count as the new one. Removed only now, so a
  // refused request leaves the machine's tag as it was.
  await ec2.send(new DeleteTagsCommand({ Resources: [machine.instanceId], Tags: [{ Key: BOOTSTRAP_TAG.key }] }));

  let lastTaskState = '';
  try {
    // The SDK has no waiter for replacement tasks: poll.
    await pollUntil(async () => {
      const { ReplaceRootVolumeTasks = [] } = await ec2.send(new DescribeReplaceRootVolumeTasksCommand({ ReplaceRootVolumeTaskIds: [taskId] }));
      const state = ReplaceRootVolumeTasks[0]?.TaskState ?? 'unknown';
      if (state !== lastTaskState) options.onProgress(`  root volume: ${state}`);
      lastTaskState = state;
      if (TASK_FAILED.has(state)) throw new CliError(`Replacing the root volume of ${name} failed (task ${taskId}: ${state}). See the EC2 console, Instances, ${machine.instanceId}, Storage.`);
      return state === 'succeeded' ? { done: true, value: undefined } : { done: false };
    }, poll);
  } catch (error) {
    if (error instanceof PollTimeout) throw timeout(name, options.timeoutSeconds, `root volume replacement still ${lastTaskState}`);
    throw error;
  }

  let lastReadiness = '';
  try {
    // Nor for tags: poll the one tag the bootstrap sets.
    await pollUntil(async () => {
      const { Tags = [] } = await ec2.send(
        new DescribeTagsCommand({
          Filters: [
            { Name: 'resource-id', Values: [machine.instanceId] },
            { Name: 'key', Values: [BOOTSTRAP_TAG.key] },
          ],
        }),
      );
      // The machine rebooted when its volume was replaced: count "booting" from the request.
      const readiness = readinessOf(Tags[0]?.Value, new Date(started), now());
      const shown = formatReadiness(readiness);
      if (shown !== lastReadiness) options.onProgress(`  bootstrap: ${shown}`);
      lastReadiness = shown;
      if (readiness.state === 'failed') {
        throw new CliError(`The bootstrap of ${name} failed in phase ${readiness.phase}; see /var/log/dasklab/bootstrap.log on the machine.`);
      }
      return readiness.state === 'ready' ? { done: true, value: undefined } : { done: false };
    }, poll);
  } catch (error) {
    if (error instanceof PollTimeout) throw timeout(name, options.timeoutSeconds, `bootstrap still ${lastReadiness}`);
    throw error;
  }
  return { label: machine.label, instanceId: machine.instanceId, taskId, seconds: Math.round((now().getTime() - started) / 1000) };
}

function timeout(name: string, seconds: number, what: string): CliError {
  return new CliError(`${name} was not ready after ${formatDuration(seconds)} (${what}). Check it with: npx dasklab status`);
}
