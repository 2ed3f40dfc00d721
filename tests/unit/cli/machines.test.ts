import { Instance } from '@aws-sdk/client-ec2';
import { CliError } from '../../../lib/cli/errors';
import { compareMachines, machineOf, withLabels } from '../../../lib/cli/machines';
import { selectMachines, selectOne } from '../../../lib/cli/select';
import { machine } from './support';

const scope = { app: 'lab1', region: 'eu-west-1' };

describe('machines from DescribeInstances', () => {
  test('tags become role, student, name and readiness tag', () => {
    // GIVEN an instance as EC2 describes it
    const instance: Instance = {
      InstanceId: 'i-1',
      InstanceType: 't3.medium',
      State: { Name: 'running' },
      PublicIpAddress: '198.51.100.7',
      KeyName: 'k1',
      SecurityGroups: [{ GroupId: 'sg-1' }],
      Tags: [
        { Key: 'dasklab:app', Value: 'lab1' },
        { Key: 'dasklab:role', Value: 'student' },
        { Key: 'dasklab:student', Value: 'alice' },
        { Key: 'Name', Value: 'lab1-alice' },
        { Key: 'dasklab:bootstrap', Value: 'ready' },
        { Key: 'aws:cloudformation:stack-name', Value: 'lab1-Lab-3' },
      ],
    };
    // WHEN
    const [m] = withLabels([machineOf(instance)]);
    // THEN
    expect(m).toMatchObject({
      instanceId: 'i-1', label: 'alice', name: 'lab1-alice', role: 'student', student: 'alice', state: 'running',
      publicIp: '198.51.100.7', keyName: 'k1', securityGroupIds: ['sg-1'], bootstrapTag: 'ready', stackName: 'lab1-Lab-3',
    });
  });

  test('labels: student id for a student machine, else Name, else instance id; clashes get the instance id', () => {
    const labelled = withLabels([
      machine({ instanceId: 'i-1', role: 'student', student: 'alice', name: 'lab1-alice' }),
      machine({ instanceId: 'i-2', role: 'scheduler', student: 'bob', name: 'lab1-bob-scheduler' }),
      machine({ instanceId: 'i-3' }),
      machine({ instanceId: 'i-4', name: 'twin' }),
      machine({ instanceId: 'i-5', name: 'twin' }),
      machine({ instanceId: 'i-6', name: 'has space/slash' }),
    ]);
    expect(labelled.map((m) => m.label)).toEqual(['alice', 'lab1-bob-scheduler', 'i-3', 'twin-i-4', 'twin-i-5', 'has-space-slash']);
  });

  test('sorted by student, then role, then name with numbers in order', () => {
    const sorted = withLabels([
      machine({ instanceId: 'i-1', role: 'worker', name: 'c-worker-10' }),
      machine({ instanceId: 'i-2', role: 'worker', name: 'c-worker-2' }),
      machine({ instanceId: 'i-3', role: 'scheduler', name: 'c-scheduler' }),
      machine({ instanceId: 'i-4', role: 'student', student: 'bob', name: 'x-bob' }),
      machine({ instanceId: 'i-5', role: 'student', student: 'alice', name: 'x-alice' }),
    ]).sort(compareMachines);
    expect(sorted.map((m) => m.label)).toEqual(['c-scheduler', 'c-worker-2', 'c-worker-10', 'alice', 'bob']);
  });
});

describe('selecting machines', () => {
  const machines = withLabels([
    machine({ instanceId: 'i-a', role: 'student', student: 'alice', name: 'lab1-alice' }),
    machine({ instanceId: 'i-bs', role: 'scheduler', student: 'bob', name: 'lab1-bob-scheduler' }),
    machine({ instanceId: 'i-bw', role: 'worker', student: 'bob', name: 'lab1-bob-worker-1' }),
  ]);

  test('by student id, Name, label or instance id; a student id names all their machines', () => {
    expect(selectMachines(machines, ['bob'], false, scope).map((m) => m.instanceId)).toEqual(['i-bs', 'i-bw']);
    expect(selectMachines(machines, ['lab1-alice'], false, scope).map((m) => m.instanceId)).toEqual(['i-a']);
    expect(selectMachines(machines, ['i-bw', 'alice'], false, scope).map((m) => m.instanceId)).toEqual(['i-a', 'i-bw']);
    expect(selectMachines(machines, [], true, scope)).toHaveLength(3);
  });

  test('an unknown id is named, with the valid ones', () => {
    // WHEN
    const attempt = () => selectMachines(machines, ['alice', 'zed'], false, scope);
    // THEN
    expect(attempt).toThrow(CliError);
    expect(attempt).toThrow(
      'No machine "zed" in app "lab1" (region eu-west-1). Valid: alice (i-a, lab1-alice), lab1-bob-scheduler (i-bs), lab1-bob-worker-1 (i-bw).',
    );
  });

  test('no ids and no --all, or both, is refused', () => {
    expect(() => selectMachines(machines, [], false, scope)).toThrow('Name the machines (student id, Name or instance id), or pass --all.');
    expect(() => selectMachines(machines, ['alice'], true, scope)).toThrow('Give machine ids or --all, not both.');
  });

  test('one machine: a student with a cluster means their scheduler', () => {
    expect(selectOne(machines, 'bob', scope).instanceId).toBe('i-bs');
    expect(selectOne(machines, 'lab1-bob-worker-1', scope).instanceId).toBe('i-bw');
    expect(() => selectOne(machines, 'carol', scope)).toThrow('No machine "carol" in app "lab1"');
  });
});
