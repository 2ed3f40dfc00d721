/**
 * CloudFormation's update rules over a matrix of realistic config changes, on
 * every stack shape the app can produce: each change is synthesized before and
 * after, and
 * (a) no export that another stack imports changes value or disappears
 *     (CloudFormation refuses to update or delete an export in use:
 *     https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html);
 * (b) synth's warning names every machine the deploy replaces or restarts, and
 *     nothing else: what each change does to which machines is written down
 *     here, by role, and compared with what synth prints.
 */
import { fullDiff, ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { architectureOf } from '../../lib/config/instance-types';
import { DasklabConfigInput } from '../../lib/config/schema';
import { machineUpdates, replacementWarning, Templates } from '../../lib/replacement-check';
import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine-properties';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LOCK_FILE_FIXTURE, MATERIALS_FIXTURE, STACK_SHAPES, synthesizeShape, TRAINER_KEY } from './stack-shapes';
import { TEST_CONFIG_DIR } from './support';

type Expected = 'replaced' | 'restarted' | undefined;

/** One config change, what it does to each machine (by its role tag and kind), and to which shapes it applies. */
interface Change {
  readonly name: string;
  readonly applies: (input: DasklabConfigInput) => boolean;
  readonly apply: (input: DasklabConfigInput) => DasklabConfigInput;
  readonly expect: (machine: { role: string; spot: boolean }, input: DasklabConfigInput) => Expected;
}

const any = () => true;
const isLab = (i: DasklabConfigInput) => !!i.lab;
const isCluster = (i: DasklabConfigInput) => !!i.cluster;
const isStandalone = (i: DasklabConfigInput) => !i.lab && !i.cluster;
/** A change of user data: an instance is stopped and started, a spot machine launched anew. */
const userDataChange = ({ spot }: { spot: boolean }): Expected => (spot ? 'replaced' : 'restarted');
const nothing = (): Expected => undefined;
const everyMachine = (): Expected => 'replaced';
/** A change of what goes into a baked image: a new image, which every machine boots from anew. */
const packageChange = (machine: { spot: boolean }, input: DasklabConfigInput): Expected => (input.machine?.bake ? 'replaced' : userDataChange(machine));

/** A larger instance type of the same CPU architecture: the same image, so the machine is only restarted. */
function sameArchitectureLarger(instanceType = 't3.medium'): string {
  return architectureOf(instanceType) === 'arm64' ? 't4g.xlarge' : 't3.xlarge';
}

/** The fixture course with one notebook more: the trainer's next version of the materials. */
function updatedMaterials(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-updated-'));
  fs.cpSync(path.join(TEST_CONFIG_DIR, MATERIALS_FIXTURE), folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'exercises.ipynb'), '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}');
  return folder;
}

/** The fixture lock file with numpy one release on: the user's next lock. */
function updatedLockFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-updated-')), 'requirements.lock');
  fs.writeFileSync(file, fs.readFileSync(path.join(TEST_CONFIG_DIR, LOCK_FILE_FIXTURE), 'utf8').replace('numpy==2.2.1', 'numpy==2.2.2'));
  return file;
}

const CHANGES: readonly Change[] = [
  { name: 'python.packages: a package added', applies: any, apply: (i) => ({ ...i, python: { ...i.python, packages: ['numpy', 'dask[complete]', 'pandas'] } }), expect: packageChange },
  { name: 'python.indexUrl set', applies: (i) => !i.python?.codeArtifact, apply: (i) => ({ ...i, python: { ...i.python, indexUrl: 'https://pypi.example.org/simple' } }), expect: packageChange },
  { name: 'python.lockFile set', applies: (i) => isStandalone(i) && !i.python?.lockFile, apply: (i) => ({ ...i, python: { ...i.python, lockFile: LOCK_FILE_FIXTURE } }), expect: packageChange },
  { name: 'python.lockFile: a new version of the file', applies: (i) => !!i.python?.lockFile, apply: (i) => ({ ...i, python: { ...i.python, lockFile: updatedLockFile() } }), expect: packageChange },
  { name: 'python.venv moved', applies: any, apply: (i) => ({ ...i, python: { ...i.python, venv: '/opt/course/venv' } }), expect: packageChange },
  { name: 'machine.bake turned on', applies: (i) => !i.machine?.bake && !i.network && (i.lab?.roster?.length ?? 0) <= 3, apply: (i) => ({ ...i, machine: { ...i.machine, bake: true } }), expect: everyMachine },
  { name: 'machine.bake turned off', applies: (i) => !!i.machine?.bake, apply: (i) => ({ ...i, machine: { ...i.machine, bake: false } }), expect: everyMachine },
  { name: 'machine.diskGiB grown', applies: (i) => !isCluster(i), apply: (i) => ({ ...i, machine: { ...i.machine, diskGiB: 60 } }), expect: everyMachine },
  // machine.ubuntu: 24.04 is the only release the config accepts today, so there is no change to make.
  { name: 'machine.instanceType changed', applies: isStandalone, apply: (i) => ({ ...i, machine: { ...i.machine, instanceType: sameArchitectureLarger(i.machine?.instanceType) } }), expect: () => 'restarted' },
  { name: 'machine.instanceType to another CPU architecture', applies: isStandalone, apply: (i) => ({ ...i, machine: { ...i.machine, instanceType: architectureOf(i.machine?.instanceType ?? 't3.medium') === 'arm64' ? 't3.large' : 't4g.large' } }), expect: everyMachine },
  { name: 'access.sshCidrs opened', applies: any, apply: (i) => ({ ...i, access: { ...i.access, sshCidrs: ['192.0.2.0/24'] } }), expect: nothing },
  { name: 'access.dashboardCidrs opened', applies: isCluster, apply: (i) => ({ ...i, access: { ...i.access, dashboardCidrs: ['192.0.2.0/24'] } }), expect: nothing },
  { name: 'access.publicKey set', applies: (i) => !i.access?.publicKey && !isLab(i), apply: (i) => ({ ...i, access: { ...i.access, publicKey: TRAINER_KEY } }), expect: everyMachine },
  { name: 'access.publicKey changed', applies: (i) => !!i.access?.publicKey, apply: (i) => ({ ...i, access: { ...i.access, publicKey: TRAINER_KEY.replace('trainer@laptop', 'ops@new-laptop').replace('AAAAIGJ5', 'AAAAIHJ5') } }), expect: everyMachine },
  { name: 'cluster.workers up', applies: isCluster, apply: (i) => ({ ...i, cluster: { ...i.cluster, workers: (i.cluster!.workers ?? 2) + 1 } }), expect: ({ role }) => (role === 'scheduler' ? 'restarted' : undefined) },
  { name: 'cluster.workers down', applies: (i) => isCluster(i) && (i.cluster!.workers ?? 2) > 1, apply: (i) => ({ ...i, cluster: { ...i.cluster, workers: (i.cluster!.workers ?? 2) - 1 } }), expect: ({ role }) => (role === 'scheduler' ? 'restarted' : undefined) },
  { name: 'cluster.spot toggled', applies: isCluster, apply: (i) => ({ ...i, cluster: { ...i.cluster, spot: !i.cluster!.spot } }), expect: ({ role }) => (role === 'worker' ? 'replaced' : undefined) },
  { name: 'lab: a student added', applies: (i) => isLab(i) && (i.lab!.roster as string[]).length < 500, apply: (i) => ({ ...i, lab: { ...i.lab!, roster: [...(i.lab!.roster as string[]), 'zoe'] } }), expect: nothing },
  { name: "lab: the roster's last student removed", applies: isLab, apply: (i) => ({ ...i, lab: { ...i.lab!, roster: (i.lab!.roster as string[]).slice(0, -1) } }), expect: nothing },
  { name: 'lab.trainerPublicKey rotated', applies: isLab, apply: (i) => ({ ...i, lab: { ...i.lab!, trainerPublicKey: TRAINER_KEY.replace('trainer@laptop', 'trainer@new-laptop') } }), expect: userDataChange },
  { name: 'lab.idleStopMinutes changed', applies: isLab, apply: (i) => ({ ...i, lab: { ...i.lab!, idleStopMinutes: 45 } }), expect: userDataChange },
  // The course's packages join every machine's; the files go to each student's machine (their scheduler).
  { name: 'lab.materials added', applies: (i) => isLab(i) && !i.lab!.materials, apply: (i) => ({ ...i, lab: { ...i.lab!, materials: MATERIALS_FIXTURE } }), expect: userDataChange },
  {
    name: 'lab.materials: a new version of the course',
    applies: (i) => isLab(i) && !!i.lab!.materials,
    apply: (i) => ({ ...i, lab: { ...i.lab!, materials: updatedMaterials() } }),
    expect: ({ role }) => (role === 'worker' ? undefined : 'restarted'),
  },
  { name: 'lab.schedule set', applies: isLab, apply: (i) => ({ ...i, lab: { ...i.lab!, schedule: { stop: '19:00', start: '07:30', timezone: 'Europe/Paris' } } }), expect: nothing },
];

/** The lab of 500 takes long to synthesize: only the changes a trainer makes to a running class. */
const LARGE_SHAPE_CHANGES = ['lab: a student added', "lab: the roster's last student removed", 'lab.trainerPublicKey rotated', 'python.packages: a package added'];

function templatesOf(input: DasklabConfigInput): Map<string, any> {
  return new Map(synthesizeShape(input).map((s) => [s.stackName, s.template]));
}

/** Every machine of the app: its Name tag, role tag and kind. */
function machinesOf(templates: Templates): Map<string, { role: string; spot: boolean }> {
  const result = new Map<string, { role: string; spot: boolean }>();
  for (const template of templates.values()) {
    for (const resource of Object.values<any>(template.Resources ?? {})) {
      const spot = resource.Type === SPOT_MACHINE_RESOURCE_TYPE;
      if (resource.Type !== 'AWS::EC2::Instance' && !spot) continue;
      const tags: Array<{ Key: string; Value: string }> = resource.Properties.Tags ?? [];
      const tag = (key: string) => tags.find((t) => t.Key === key)?.Value ?? '';
      result.set(tag('Name'), { role: tag('dasklab:role'), spot });
    }
  }
  return result;
}

/**
 * Attributes whose value changes whenever the resource is updated, not only
 * when it is replaced: a launch template's version numbers
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-launchtemplate.html#aws-resource-ec2-launchtemplate-return-values).
 */
const REVISION_ATTRIBUTES: Record<string, string[]> = {
  'AWS::EC2::LaunchTemplate': ['LatestVersionNumber', 'DefaultVersionNumber'],
};

/** Export names another stack imports (Fn::ImportValue anywhere in its template). */
function importedExports(templates: Templates): Map<string, string[]> {
  const imported = new Map<string, string[]>();
  const walk = (node: any, stack: string): void => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, stack));
    else if (node && typeof node === 'object') {
      if (typeof node['Fn::ImportValue'] === 'string') imported.set(node['Fn::ImportValue'], [...(imported.get(node['Fn::ImportValue']) ?? []), stack]);
      Object.values(node).forEach((n) => walk(n, stack));
    }
  };
  for (const [stack, template] of templates) walk(template.Resources ?? {}, stack);
  return imported;
}

/**
 * Problems with the exports the deployed stacks import, after the change: an
 * export gone; a different value expression; or the same expression over a
 * resource whose value changes on this deploy (a Ref to a replaced resource,
 * a GetAtt of an updated one, e.g. a launch template's LatestVersionNumber).
 */
function exportProblems(before: Templates, after: Templates): string[] {
  const exportsOf = (templates: Templates) => {
    const result = new Map<string, { stack: string; value: any }>();
    for (const [stack, template] of templates) {
      for (const output of Object.values<any>(template.Outputs ?? {})) {
        if (typeof output.Export?.Name === 'string') result.set(output.Export.Name, { stack, value: output.Value });
      }
    }
    return result;
  };
  const [old, now] = [exportsOf(before), exportsOf(after)];
  const problems: string[] = [];
  for (const [name, importers] of importedExports(before)) {
    const was = old.get(name);
    const is = now.get(name);
    if (!was) continue; // imported from outside the app
    if (!is) {
      problems.push(`${name} (imported by ${importers.join(', ')}) disappears`);
      continue;
    }
    if (JSON.stringify(was.value) !== JSON.stringify(is.value)) {
      problems.push(`${name} (imported by ${importers.join(', ')}) changes from ${JSON.stringify(was.value)} to ${JSON.stringify(is.value)}`);
      continue;
    }
    const ref = is.value?.Ref ?? is.value?.['Fn::GetAtt']?.[0];
    if (typeof ref !== 'string' || !before.get(is.stack)?.Resources?.[ref]) continue;
    const diff = fullDiff(before.get(is.stack), after.get(is.stack)).resources.changes[ref];
    if (!diff?.isDifferent) continue;
    const replaced = diff.changeImpact === ResourceImpact.WILL_REPLACE || diff.changeImpact === ResourceImpact.MAY_REPLACE;
    const attribute: string | undefined = is.value['Fn::GetAtt']?.[1];
    const revised = !!attribute && (REVISION_ATTRIBUTES[diff.resourceType ?? ''] ?? []).includes(attribute);
    if (replaced || revised) {
      problems.push(`${name} (imported by ${importers.join(', ')}) takes a new value: ${JSON.stringify(is.value)} over ${ref}, which this deploy ${replaced ? 'replaces' : 'updates'}`);
    }
  }
  return problems;
}

/**
 * Properties that give a resource its physical name, by type, for the types
 * the app creates or may create. CloudFormation cannot replace a resource that
 * keeps its custom name: the update fails ("you must specify a new name").
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
 */
const PHYSICAL_NAME_PROPERTIES: Record<string, string> = {
  'AWS::EC2::KeyPair': 'KeyName',
  'AWS::EC2::LaunchTemplate': 'LaunchTemplateName',
  'AWS::EC2::SecurityGroup': 'GroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::SSM::Parameter': 'Name',
};

/** Resources the deploy replaces while they keep their custom name. */
function namedReplacements(before: Templates, after: Templates): string[] {
  const problems: string[] = [];
  for (const [stack, template] of after) {
    const old = before.get(stack);
    if (!old) continue;
    for (const [id, change] of Object.entries(fullDiff(old, template).resources.changes)) {
      const nameProperty = PHYSICAL_NAME_PROPERTIES[change.resourceType ?? ''];
      const replaced = change.changeImpact === ResourceImpact.WILL_REPLACE || change.changeImpact === ResourceImpact.MAY_REPLACE;
      if (!nameProperty || !replaced) continue;
      const [was, is] = [old.Resources[id]?.Properties?.[nameProperty], template.Resources[id]?.Properties?.[nameProperty]];
      if (was !== undefined && JSON.stringify(was) === JSON.stringify(is)) problems.push(`${stack}/${id} is replaced but keeps its ${nameProperty} ${JSON.stringify(is)}`);
    }
  }
  return problems;
}

/** The machines a synth warning names, by what it says happens to them. */
function namedByWarning(warning: string | undefined): Map<string, Expected> {
  const named = new Map<string, Expected>();
  let section: Expected;
  for (const line of (warning ?? '').split('\n')) {
    if (/REPLACES \d+ machine/.test(line)) section = 'replaced';
    else if (/RESTARTS \d+ machine/.test(line)) section = 'restarted';
    else if (line.startsWith('  - ')) named.set(line.slice(4), section);
  }
  return named;
}

const CASES = STACK_SHAPES.flatMap(([shape, input]) =>
  CHANGES.filter((c) => c.applies(input) && (shape !== 'lab of 500' || LARGE_SHAPE_CHANGES.includes(c.name))).map((c) => [shape, c.name, input, c] as const),
);

describe('update rules: exports in use keep their value', () => {
  for (const [shape, change, input, c] of CASES) {
    test(`${shape}: ${change}`, () => {
      // GIVEN the deployed app, WHEN the config changes
      const before = templatesOf(input);
      const after = templatesOf(c.apply(input));
      // THEN every export another stack imports keeps its value
      expect(exportProblems(before, after)).toEqual([]);
    });
  }
});

describe('update rules: a replaced resource never keeps its custom name', () => {
  test.each(CASES.map(([shape, change, input, c]) => [`${shape}: ${change}`, input, c] as const))('%s', (_name, input, c) => {
    // GIVEN the deployed app, WHEN the config changes
    const [before, after] = [templatesOf(input), templatesOf(c.apply(input))];
    // THEN every resource the deploy replaces can be created beside the old one
    expect(namedReplacements(before, after)).toEqual([]);
  });
});

describe('update rules: synth names every machine replaced or restarted, and nothing else', () => {
  for (const [shape, change, input, c] of CASES) {
    test(`${shape}: ${change}`, () => {
      const before = templatesOf(input);
      const after = templatesOf(c.apply(input));
      const [old, now] = [machinesOf(before), machinesOf(after)];
      // What the change does, machine by machine, among those before and after it
      const expected = new Map<string, Expected>();
      for (const [name, machine] of now) {
        const was = old.get(name);
        if (!was) continue;
        const outcome = c.expect(was.spot === machine.spot ? machine : { ...machine, spot: true }, input);
        if (outcome) expected.set(name, outcome);
      }
      const updates = machineUpdates(before, after);
      expect(Object.fromEntries(updates)).toEqual(Object.fromEntries(expected));
      // The warning counts them all and names them (the first 20 of each kind)
      const warning = replacementWarning(before, after) ?? '';
      const count = (outcome: Expected) => [...expected.values()].filter((e) => e === outcome).length;
      expect(Number(/REPLACES (\d+) machine/.exec(warning)?.[1] ?? 0)).toBe(count('replaced'));
      expect(Number(/RESTARTS (\d+) machine/.exec(warning)?.[1] ?? 0)).toBe(count('restarted'));
      const named = [...namedByWarning(warning)].filter(([name]) => !name.startsWith('... and '));
      expect(named.length).toBe(Math.min(20, count('replaced')) + Math.min(20, count('restarted')));
      for (const [name, outcome] of named) expect([name, expected.get(name)]).toEqual([name, outcome]);
    });
  }
});
