import { addDasklabStacks } from '../../lib/app';
import { TRAINER_KEY } from './stack-shapes';
import { testApp } from './support';
import { DasklabConfigInput } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config';
import { machineUpdates, replacedMachines, replacementWarning, restartedMachines } from '../../lib/replacement-check';

/** The templates of the app for a config, by stack name. */
function templatesOf(input: DasklabConfigInput): Map<string, any> {
  const app = testApp();
  addDasklabStacks(app, validateConfig(input, 'test'));
  return new Map(app.synth().stacks.map((s) => [s.stackName, s.template]));
}

describe('re-deploying with unrelated changes does not replace the machine', () => {
  const base = templatesOf({});

  test.each<[string, DasklabConfigInput]>([
    ['SSH opened to a CIDR', { access: { sshCidrs: ['203.0.113.0/24'] } }],
    ['the dashboard opened to a CIDR', { access: { dashboardCidrs: ['203.0.113.0/24'] } }],
    ['a longer readiness timeout', { machine: { readyTimeoutMinutes: 90 } }],
    ['another package list', { python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } }],
    ['a package index', { python: { indexUrl: 'https://mirror.example/simple' } }],
  ])('%s', (_what, change) => {
    // GIVEN the default machine
    // WHEN an unrelated setting changes
    // THEN no machine is replaced
    expect(replacedMachines(base, templatesOf(change))).toEqual([]);
  });

  test('a change that does replace it is detected (the check is not blind)', () => {
    expect(replacedMachines(base, templatesOf({ machine: { diskGiB: 31 } }))).toEqual(['dasklab-machine']);
  });
});

describe('settings carried in user data restart the machine, and synth says so', () => {
  const base = templatesOf({});

  test.each<[string, DasklabConfigInput]>([
    ['another package list', { python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } }],
    ['a package index', { python: { indexUrl: 'https://mirror.example/simple' } }],
    ['another instance type', { machine: { instanceType: 't3.large' } }],
  ])('%s: restarted, not replaced', (_what, change) => {
    expect(Object.fromEntries(machineUpdates(base, templatesOf(change)))).toEqual({ 'dasklab-machine': 'restarted' });
  });

  test('SSH opened to a CIDR: neither', () => {
    expect(machineUpdates(base, templatesOf({ access: { sshCidrs: ['203.0.113.0/24'] } })).size).toBe(0);
  });

  test('the warning names the restarted machines and says what a restart does', () => {
    const warning = replacementWarning(base, templatesOf({ python: { packages: ['numpy', 'dask[complete]', 'pandas'] } }));
    expect(warning).toContain('RESTARTS 1 machine(s)');
    expect(warning).toContain('new public IP address');
    expect(warning).toContain('  - dasklab-machine');
    expect(warning).not.toContain('REPLACES');
  });

  test('a rotated trainer key restarts every machine of the lab', () => {
    const lab = (key: string) => templatesOf({ name: 'course', lab: { roster: ['alice', 'bob'], trainerPublicKey: key } });
    expect(restartedMachines(lab(TRAINER_KEY), lab(TRAINER_KEY.replace('trainer@laptop', 'trainer@new-laptop')))).toEqual(['course-alice', 'course-bob']);
  });
});

describe('cluster stability', () => {
  test('adding workers leaves the existing workers alone and restarts the scheduler, which then waits for every worker', () => {
    // The scheduler's user data names the workers it waits for before it reports ready.
    const before = templatesOf({ cluster: { workers: 2 } });
    const after = templatesOf({ cluster: { workers: 4 } });
    expect(Object.fromEntries(machineUpdates(before, after))).toEqual({ 'dasklab-scheduler': 'restarted' });
  });

  test('adding spot workers does not replace the existing ones either', () => {
    const before = templatesOf({ cluster: { workers: 2, spot: true } });
    const after = templatesOf({ cluster: { workers: 3, spot: true } });
    expect(replacedMachines(before, after)).toEqual([]);
  });

  test('a spot worker is replaced by any change but its tags, an instance restarted, and the warning says so', () => {
    // GIVEN spot workers, then another package list (new user data: an instance is restarted, a spot machine replaced)
    const before = templatesOf({ cluster: { workers: 2, spot: true } });
    const after = templatesOf({ cluster: { workers: 2, spot: true }, python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } });
    // THEN the workers are named as replaced, the on-demand scheduler as restarted
    expect(replacedMachines(before, after)).toEqual(['dasklab-worker-1', 'dasklab-worker-2']);
    expect(restartedMachines(before, after)).toEqual(['dasklab-scheduler']);
  });
});

describe('the replacement warning synth prints', () => {
  test('names the machines a lab change would replace, following launch templates across stacks', () => {
    // GIVEN a lab, then the same lab with bigger disks (a new launch template version, in the shared stack)
    const before = templatesOf({ name: 'course', lab: { roster: ['alice', 'bob'] } });
    const after = templatesOf({ name: 'course', machine: { diskGiB: 50 }, lab: { roster: ['alice', 'bob'] } });
    // WHEN compared
    const warning = replacementWarning(before, after);
    // THEN it says so plainly, naming both machines
    expect(warning).toContain('REPLACES 2 machine(s)');
    expect(warning).toContain('  - course-alice');
    expect(warning).toContain('  - course-bob');
  });

  test('is silent when a student joins', () => {
    const before = templatesOf({ name: 'course', lab: { roster: ['alice', 'bob'] } });
    const after = templatesOf({ name: 'course', lab: { roster: ['alice', 'bob', 'carol'] } });
    expect(replacementWarning(before, after)).toBeUndefined();
  });
});

describe('a changed user data is waited on again', () => {
  /** Logical ids of a stack's wait conditions and handles, and which handle each machine's user data signals. */
  function waits(input: DasklabConfigInput, stackName = 'dasklab-Machine'): { conditions: string[]; handles: string[]; signalled: string[] } {
    const template = templatesOf(input).get(stackName);
    const ids = (type: string) => Object.keys(template.Resources).filter((id) => template.Resources[id].Type === type).sort();
    const signalled = Object.values<any>(template.Resources)
      .filter((r) => r.Type === 'AWS::EC2::Instance')
      .map((r) => JSON.stringify(r.Properties.UserData).match(/"Ref":"([A-Za-z0-9]+)"/g) ?? [])
      .flat()
      .map((ref) => ref.slice(7, -1))
      .filter((id) => template.Resources[id]?.Type === 'AWS::CloudFormation::WaitConditionHandle');
    return { conditions: ids('AWS::CloudFormation::WaitCondition'), handles: ids('AWS::CloudFormation::WaitConditionHandle'), signalled };
  }

  test('another package list: a new handle and a new wait condition, which the new user data signals', () => {
    // GIVEN the default machine, WHEN its packages change
    const before = waits({});
    const after = waits({ python: { packages: ['numpy', 'dask[complete]', 'pandas'] } });
    // THEN CloudFormation creates a new wait condition (an existing one is never waited on again) with a new handle
    expect(after.conditions).toHaveLength(1);
    expect(after.conditions).not.toEqual(before.conditions);
    expect(after.handles).not.toEqual(before.handles);
    // AND the machine's new user data signals the new handle
    expect(after.signalled).toEqual(after.handles);
  });

  test('a change that leaves user data alone keeps the wait condition', () => {
    expect(waits({ access: { sshCidrs: ['203.0.113.0/24'] } })).toEqual(waits({}));
  });

  test('a rotated trainer key is waited on again on every student machine', () => {
    const lab = (key: string) => waits({ name: 'course', lab: { roster: ['alice', 'bob'], trainerPublicKey: key } }, 'course-Lab-' + labStackOf('alice'));
    const before = lab(TRAINER_KEY);
    const after = lab(TRAINER_KEY.replace('trainer@laptop', 'trainer@new-laptop').replace('AAAAIGJ5', 'AAAAIHJ5'));
    expect(before.conditions).toHaveLength(1);
    expect(after.conditions).toHaveLength(1);
    expect(after.conditions.filter((id) => before.conditions.includes(id))).toEqual([]);
  });
});

/** The lab shard stack number of a student: the stack whose instance carries its dasklab:student tag. */
function labStackOf(student: string): string {
  const templates = templatesOf({ name: 'course', lab: { roster: [student] } });
  for (const [name, template] of templates) {
    const tagged = Object.values<any>(template.Resources ?? {}).some(
      (r) => r.Type === 'AWS::EC2::Instance' && (r.Properties.Tags ?? []).some((t: any) => t.Key === 'dasklab:student' && t.Value === student),
    );
    if (tagged) return name.split('-').pop()!;
  }
  throw new Error(`no lab stack holds ${student}'s machine`);
}
