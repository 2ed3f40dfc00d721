import { addDasklabStacks } from '../../lib/app';
import { testApp } from './support';
import { DasklabConfigInput } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config';
import { machineFingerprints, replacedMachines, replacementWarning } from '../../lib/replacement-check';

/** The templates of the app for a config, by stack name. */
function templatesOf(input: DasklabConfigInput): Map<string, any> {
  const app = testApp();
  addDasklabStacks(app, validateConfig(input, 'test'));
  return new Map(app.synth().stacks.map((s) => [s.stackName, s.template]));
}

describe('re-deploying with unrelated changes does not replace the machine', () => {
  const base = machineFingerprints(templatesOf({}));

  test.each<[string, DasklabConfigInput]>([
    ['SSH opened to a CIDR', { access: { sshCidrs: ['203.0.113.0/24'] } }],
    ['the dashboard opened to a CIDR', { access: { dashboardCidrs: ['203.0.113.0/24'] } }],
    ['a longer readiness timeout', { machine: { readyTimeoutMinutes: 90 } }],
    ['another package list', { python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } }],
    ['a package index', { python: { indexUrl: 'https://mirror.example/simple' } }],
  ])('%s', (_what, change) => {
    // GIVEN the default machine
    // WHEN an unrelated setting changes
    // THEN no machine's replacing properties, launch template or logical id change
    expect(replacedMachines(base, machineFingerprints(templatesOf(change)))).toEqual([]);
  });

  test('a change that does replace it is detected (the check is not blind)', () => {
    expect(replacedMachines(base, machineFingerprints(templatesOf({ machine: { diskGiB: 31 } })))).toEqual(['dasklab-machine']);
  });
});

describe('cluster stability', () => {
  test('adding workers does not replace the scheduler or the existing workers', () => {
    const before = machineFingerprints(templatesOf({ cluster: { workers: 2 } }));
    const after = machineFingerprints(templatesOf({ cluster: { workers: 4 } }));
    expect(replacedMachines(before, after)).toEqual([]);
    expect(after.size).toBe(5);
  });

  test('adding spot workers does not replace the existing ones either', () => {
    const before = machineFingerprints(templatesOf({ cluster: { workers: 2, spot: true } }));
    const after = machineFingerprints(templatesOf({ cluster: { workers: 3, spot: true } }));
    expect(replacedMachines(before, after)).toEqual([]);
    expect(after.size).toBe(4);
  });

  test('a spot worker is replaced by any change but its tags, and the warning says so', () => {
    // GIVEN spot workers, then another package list (new user data: an instance is updated, a spot machine replaced)
    const before = templatesOf({ cluster: { workers: 2, spot: true } });
    const after = templatesOf({ cluster: { workers: 2, spot: true }, python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } });
    // THEN the workers are named, the on-demand scheduler is not
    expect(replacedMachines(machineFingerprints(before), machineFingerprints(after))).toEqual(['dasklab-worker-1', 'dasklab-worker-2']);
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
