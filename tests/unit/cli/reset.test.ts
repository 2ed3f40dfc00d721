/**
 * reset with aws-sdk-client-mock: moto has no root-volume replacement
 * (CreateReplaceRootVolumeTask / DescribeReplaceRootVolumeTasks).
 */
import {
  CreateReplaceRootVolumeTaskCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeReplaceRootVolumeTasksCommand,
  DescribeTagsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { CliError } from '../../../lib/cli/errors';
import { resetMachine } from '../../../lib/cli/reset';
import { machine, runCaptured } from './support';

const ec2Mock = mockClient(EC2Client);

const alice = machine({ instanceId: 'i-a', label: 'alice', student: 'alice', role: 'student', publicIp: '198.51.100.7' });

/** A fake clock that moves on 10 s per sleep, so timeouts are tested without waiting. */
function fakeTime() {
  let now = Date.parse('2026-03-02T08:00:00Z');
  return { now: () => new Date(now), sleep: async (ms: number) => void (now += ms) };
}

function taskStates(...states: string[]): void {
  const call = ec2Mock.on(DescribeReplaceRootVolumeTasksCommand);
  states.forEach((state) => call.resolvesOnce({ ReplaceRootVolumeTasks: [{ ReplaceRootVolumeTaskId: 'replacevol-1', TaskState: state as never }] }));
  call.resolves({ ReplaceRootVolumeTasks: [{ ReplaceRootVolumeTaskId: 'replacevol-1', TaskState: states[states.length - 1] as never }] });
}

function bootstrapTags(...values: (string | undefined)[]): void {
  const call = ec2Mock.on(DescribeTagsCommand);
  const answer = (v: string | undefined) => ({ Tags: v === undefined ? [] : [{ Key: 'dasklab:bootstrap', Value: v, ResourceId: 'i-a' }] });
  values.forEach((v) => call.resolvesOnce(answer(v)));
  call.resolves(answer(values[values.length - 1]));
}

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(CreateReplaceRootVolumeTaskCommand).resolves({ ReplaceRootVolumeTask: { ReplaceRootVolumeTaskId: 'replacevol-1', TaskState: 'pending' } });
  ec2Mock.on(DeleteTagsCommand).resolves({});
});

async function reset(timeoutSeconds = 1800) {
  const lines: string[] = [];
  const time = fakeTime();
  const result = await resetMachine(new EC2Client({ region: 'eu-west-1' }), alice, {
    timeoutSeconds,
    pollSeconds: 10,
    onProgress: (l) => lines.push(l),
    ...time,
  });
  return { result, lines };
}

describe('reset', () => {
  test('replaces the root volume in place, then waits for the bootstrap to be ready again', async () => {
    // GIVEN a replacement that runs, then a bootstrap that goes booting -> bootstrapping -> ready
    taskStates('pending', 'in-progress', 'succeeded');
    bootstrapTags(undefined, 'bootstrapping', 'bootstrapping', 'ready');
    // WHEN
    const { result, lines } = await reset();
    // THEN the request restores the launch state and deletes the old volume
    expect(ec2Mock.commandCalls(CreateReplaceRootVolumeTaskCommand)[0].args[0].input).toEqual({ InstanceId: 'i-a', DeleteReplacedRootVolume: true });
    // AND the old "ready" tag is removed, after the request was accepted
    expect(ec2Mock.commandCalls(DeleteTagsCommand)[0].args[0].input).toEqual({ Resources: ['i-a'], Tags: [{ Key: 'dasklab:bootstrap' }] });
    expect(lines).toEqual([
      'replacing the root volume of alice (i-a): task replacevol-1',
      '  root volume: pending',
      '  root volume: in-progress',
      '  root volume: succeeded',
      '  bootstrap: booting',
      '  bootstrap: bootstrapping',
      '  bootstrap: ready',
    ]);
    expect(result).toEqual({ label: 'alice', instanceId: 'i-a', taskId: 'replacevol-1', seconds: 50 });
  });

  test('a failed replacement is reported with the task id', async () => {
    taskStates('pending', 'failed');
    await expect(reset()).rejects.toThrow(new CliError('Replacing the root volume of alice (i-a) failed (task replacevol-1: failed). See the EC2 console, Instances, i-a, Storage.'));
  });

  test('a failed bootstrap names its phase', async () => {
    taskStates('succeeded');
    bootstrapTags('bootstrapping', 'failed:pip');
    await expect(reset()).rejects.toThrow('The bootstrap of alice (i-a) failed in phase pip; see /var/log/dasklab/bootstrap.log on the machine.');
  });

  test('a bootstrap that never gets ready times out', async () => {
    taskStates('succeeded');
    bootstrapTags('bootstrapping');
    await expect(reset(120)).rejects.toThrow('alice (i-a) was not ready after 2 min (bootstrap still bootstrapping). Check it with: npx dasklab status');
  });

  test('a stopped machine is refused before anything is changed', async () => {
    const stopped = { ...alice, state: 'stopped' };
    await expect(
      resetMachine(new EC2Client({ region: 'eu-west-1' }), stopped, { timeoutSeconds: 60, pollSeconds: 1, onProgress: () => undefined }),
    ).rejects.toThrow('alice (i-a) is stopped; EC2 replaces the root volume of a running machine only. Start it first: npx dasklab start alice');
    expect(ec2Mock.commandCalls(CreateReplaceRootVolumeTaskCommand)).toHaveLength(0);
  });
});

describe('the reset command', () => {
  beforeEach(() => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-a',
              InstanceType: 't3.medium',
              State: { Name: 'running' },
              PublicIpAddress: '198.51.100.7',
              Tags: [
                { Key: 'dasklab:app', Value: 'lab1' },
                { Key: 'dasklab:role', Value: 'student' },
                { Key: 'dasklab:student', Value: 'alice' },
                { Key: 'Name', Value: 'lab1-alice' },
              ],
            },
          ],
        },
      ],
    });
  });

  test('asks first; "no" (or no terminal) changes nothing', async () => {
    const run = await runCaptured(['reset', 'alice', '--app', 'lab1', '--region', 'eu-west-1'], { confirm: false });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('dasklab: Not reset. To reset without being asked (for example with no terminal), pass --yes.');
    expect(ec2Mock.commandCalls(CreateReplaceRootVolumeTaskCommand)).toHaveLength(0);
  });

  test('--yes resets and reports the new host keys', async () => {
    taskStates('succeeded');
    bootstrapTags('ready');
    const run = await runCaptured(['reset', 'alice', '--yes', '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('alice (i-a, student alice) is ready again');
    expect(run.stdout).toContain('ssh-keygen -R 198.51.100.7');
    expect(ec2Mock.commandCalls(CreateReplaceRootVolumeTaskCommand)).toHaveLength(1);
  });
});
