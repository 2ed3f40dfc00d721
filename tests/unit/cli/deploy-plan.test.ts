import { ConfigSchema } from '../../../lib/config';
import { deployPlan } from '../../../lib/cli/preflight/deploy-plan';
import { labPlanInputOf } from '../../../lib/cli/preflight/lab-plan-input';
import { vcpuQuotaOf } from '../../../lib/cli/preflight/vcpu-quotas';

const config = (input: object) => ConfigSchema.parse(input);

describe('what a deploy creates', () => {
  test('standalone: one machine in the first zone, a key pair of its own', () => {
    const plan = deployPlan(config({ machine: { instanceType: 'm7g.large' } }));
    expect(plan.machines).toEqual([{ role: 'standalone', instanceType: 'm7g.large', spot: false, subnetIndex: 0 }]);
    expect(plan).toMatchObject({ vpcs: 1, internetGateways: 1, keyPairs: 1, securityGroups: 2, notes: [] });
  });

  test('cluster: a scheduler in subnet 0, worker i in subnet i + 1, spot workers', () => {
    const plan = deployPlan(
      config({ cluster: { workers: 3, schedulerInstanceType: 't3.medium', workerInstanceType: 'c7g.xlarge', spot: true } }),
    );
    expect(plan.machines).toEqual([
      { role: 'scheduler', instanceType: 't3.medium', spot: false, subnetIndex: 0 },
      { role: 'worker', instanceType: 'c7g.xlarge', spot: true, subnetIndex: 1 },
      { role: 'worker', instanceType: 'c7g.xlarge', spot: true, subnetIndex: 2 },
      { role: 'worker', instanceType: 'c7g.xlarge', spot: true, subnetIndex: 3 },
    ]);
    expect(plan.keyPairs).toBe(4);
    expect(plan.securityGroups).toBe(5);
  });

  test('an imported public key is one key pair for all machines', () => {
    const publicKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q trainer';
    const plan = deployPlan(config({ access: { publicKey }, cluster: { workers: 2 } }));
    expect(plan.keyPairs).toBe(1);
  });

  test('lab: per student a machine, or a scheduler and workers, spread over both zones', () => {
    const base = config({});
    expect(deployPlan(base, { studentIds: ['alice', 'bob'], workersPerStudent: 0, instanceType: 't3.large' }).machines).toEqual([
      { role: 'student', instanceType: 't3.large', spot: false, subnetIndex: 0 },
      { role: 'student', instanceType: 't3.large', spot: false, subnetIndex: 1 },
    ]);
    const withWorkers = deployPlan(base, { studentIds: ['alice', 'bob'], workersPerStudent: 2, instanceType: 't3.large' });
    expect(withWorkers.machines.map((m) => `${m.role}@${m.subnetIndex}`)).toEqual(['scheduler@0', 'worker@0', 'worker@0', 'scheduler@1', 'worker@1', 'worker@1']);
    expect(withWorkers).toMatchObject({ keyPairs: 6, vpcs: 1, securityGroups: 4 });
  });
});

describe('the lab section of a loaded config', () => {
  test('students, workers per student and the resolved instance type', () => {
    // GIVEN a lab config with an inline roster and no instance type of its own
    const loaded = config({ machine: { instanceType: 'm7g.large' }, lab: { roster: ['alice', 'bob', 'carol'], workersPerStudent: 1 } });
    // WHEN
    const input = labPlanInputOf(loaded);
    // THEN
    expect(input).toEqual({ studentIds: ['alice', 'bob', 'carol'], workersPerStudent: 1, instanceType: 'm7g.large' });
    expect(deployPlan(loaded, input).machines).toHaveLength(6);
    expect(labPlanInputOf(config({}))).toBeUndefined();
  });
});

describe('the vCPU quota of an instance type', () => {
  test.each([
    ['t3.medium', 'L-1216C47A'],
    ['m7g.large', 'L-1216C47A'],
    ['im4gn.large', 'L-1216C47A'],
    ['inf2.xlarge', 'L-1945791B'],
    ['trn1.2xlarge', 'L-2C3B7624'],
    ['hpc7g.4xlarge', 'L-F7808C92'],
    ['dl1.24xlarge', 'L-6E869C2A'],
    ['d3.xlarge', 'L-1216C47A'],
    ['g5.xlarge', 'L-DB2E81BA'],
    ['vt1.3xlarge', 'L-DB2E81BA'],
    ['p4d.24xlarge', 'L-417A185B'],
    ['x2iedn.xlarge', 'L-7295265B'],
    ['f1.2xlarge', 'L-74FC7D96'],
    ['u-6tb1.metal', 'L-43DA4232'],
  ])('On-Demand %s counts against %s', (type, code) => {
    expect(vcpuQuotaOf(type, false)?.code).toBe(code);
  });

  test('Spot has its own quotas; some families have none; mac has host quotas only', () => {
    expect(vcpuQuotaOf('c7g.xlarge', true)?.code).toBe('L-34B43A08');
    expect(vcpuQuotaOf('g5.xlarge', true)?.code).toBe('L-3819A6DF');
    expect(vcpuQuotaOf('hpc7g.4xlarge', true)).toBeUndefined();
    expect(vcpuQuotaOf('mac2.metal', false)).toBeUndefined();
  });
});
