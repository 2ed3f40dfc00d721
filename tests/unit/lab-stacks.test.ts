import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { addDasklabStacks } from '../../lib/app';
import { DasklabConfigInput } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config';
import { LAB_SHARDS, shardOf } from '../../lib/lab/lab-stacks';
import { testApp, userDataOf } from './support';

const TRAINER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ5d0fYV2u6lHk1m5gY5zZ2d0bXfWq1mDkq0mCk7N3a trainer@laptop';

function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `student-${i + 1}`);
}

/** Synthesizes a lab app and returns each stack's template, by stack name. */
function synthLab(input: DasklabConfigInput): Map<string, Template> {
  const app = testApp({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-')) });
  addDasklabStacks(app, validateConfig(input, 'test'));
  const assembly = app.synth();
  return new Map(assembly.stacks.map((s) => [s.stackName, Template.fromJSON(s.template)]));
}

function instancesOf(template: Template): Record<string, any> {
  return template.findResources('AWS::EC2::Instance');
}

function tag(resource: any, key: string): string | undefined {
  return resource.Properties.Tags.find((t: any) => t.Key === key)?.Value;
}

describe('lab stacks', () => {
  const students = ['alice', 'bob', 'carol'];
  const stacks = synthLab({ name: 'course', lab: { roster: students } });

  test('a shared stack and LAB_SHARDS student stacks, named <name>-Lab-<k>', () => {
    expect([...stacks.keys()].sort()).toEqual(
      ['course-Lab-Shared', ...Array.from({ length: LAB_SHARDS }, (_, i) => `course-Lab-${i + 1}`)].sort(),
    );
  });

  test('each student has one machine, in the stack their id hashes to, tagged with their id', () => {
    for (const student of students) {
      const template = stacks.get(`course-Lab-${shardOf(student)}`)!;
      const mine = Object.values(instancesOf(template)).filter((r) => tag(r, 'dasklab:student') === student);
      expect(mine).toHaveLength(1);
      expect(tag(mine[0], 'dasklab:role')).toBe('student');
      expect(tag(mine[0], 'dasklab:app')).toBe('course');
      expect(tag(mine[0], 'Name')).toBe(`course-${student}`);
    }
    const all = [...stacks.values()].flatMap((t) => Object.values(instancesOf(t)));
    expect(all).toHaveLength(3);
  });

  test('everything shared is created once, in the shared stack', () => {
    for (const [name, template] of stacks) {
      const count = (type: string) => Object.keys(template.findResources(type)).length;
      const shared = name === 'course-Lab-Shared';
      expect([name, count('AWS::EC2::VPC'), count('AWS::IAM::InstanceProfile'), count('AWS::EC2::LaunchTemplate')]).toEqual([
        name,
        shared ? 1 : 0,
        shared ? 1 : 0,
        shared ? 1 : 0,
      ]);
    }
  });

  test('every student has a key pair of their own', () => {
    const keyPairs = [...stacks.values()].flatMap((t) => Object.values(t.findResources('AWS::EC2::KeyPair')));
    expect(keyPairs).toHaveLength(3);
  });
});

describe('lab machines', () => {
  test('carry the idle stop and the trainer key in their bootstrap', () => {
    const stacks = synthLab({ lab: { roster: ['alice'], idleStopMinutes: 25, trainerPublicKey: TRAINER_KEY } });
    const template = stacks.get(`dasklab-Lab-${shardOf('alice')}`)!;
    const text = userDataOf(Object.values(instancesOf(template))[0]);
    expect(text).toContain("'verify' 'idle')");
    expect(text).toContain(`DASKLAB_TRAINER_KEY='${TRAINER_KEY}'`);
    expect(text).toContain('Environment=DASKLAB_IDLE_MINUTES=25');
  });

  test('workersPerStudent gives each student a scheduler and workers of their own', () => {
    const stacks = synthLab({ lab: { roster: ['alice'], workersPerStudent: 2 } });
    const template = stacks.get(`dasklab-Lab-${shardOf('alice')}`)!;
    const machines = Object.values(instancesOf(template));
    expect(machines.map((m) => tag(m, 'dasklab:role')).sort()).toEqual(['scheduler', 'worker', 'worker']);
    expect(machines.every((m) => tag(m, 'dasklab:student') === 'alice')).toBe(true);
    // the student's own security group opens the Dask ports to itself only, and has no default egress
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    expect(Object.values(groups)[0].Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp' }),
    ]);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r: any) => [
      r.Properties.FromPort,
      r.Properties.ToPort,
      r.Properties.SourceSecurityGroupId,
    ]);
    const self = { 'Fn::GetAtt': [Object.keys(groups)[0], 'GroupId'] };
    expect(ingress).toEqual([
      [8786, 8786, self],
      [8788, 8789, self],
    ]);
  });
});

describe('scale', () => {
  test.each([
    [500, 0],
    [160, 2],
  ])('%i students with %i workers each stay within CloudFormation limits per stack', (count, workers) => {
    // GIVEN a large class
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-scale-'));
    const app = testApp({ outdir });
    addDasklabStacks(app, validateConfig({ lab: { roster: ids(count), workersPerStudent: workers } }, 'test'));
    // WHEN synthesized
    const assembly = app.synth();
    // THEN every stack is within 500 resources, 200 outputs and 1 MB, and every machine is there
    let machines = 0;
    for (const stack of assembly.stacks) {
      const template = stack.template;
      const bytes = fs.statSync(path.join(outdir, stack.templateFile)).size;
      const resources = Object.keys(template.Resources).length;
      const outputs = Object.keys(template.Outputs ?? {}).length;
      expect({ stack: stack.stackName, withinLimits: resources <= 500 && outputs <= 200 && bytes <= 1_000_000 }).toEqual({
        stack: stack.stackName,
        withinLimits: true,
      });
      machines += Object.values(template.Resources).filter((r: any) => r.Type === 'AWS::EC2::Instance').length;
    }
    expect(machines).toBe(count * (1 + workers));
  });
});

describe('too large a lab', () => {
  test('is refused before any stack is built, naming the limit and the largest class that fits', () => {
    const app = testApp();
    expect(() => addDasklabStacks(app, validateConfig({ lab: { roster: ids(300), workersPerStudent: 2 } }, 'test'))).toThrow(
      'lab: 300 students with 3 machines each are 900 machines; expected at most 800 machines, so that every stack stays within CloudFormation\'s limits (with workersPerStudent 2: at most 266 students)',
    );
    expect(app.node.children).toHaveLength(0);
  });
});

describe('stability', () => {
  /** Each student's instance as deployed: its stack, logical id and properties. */
  function machinesByStudent(roster: string[]): Map<string, string> {
    const stacks = synthLab({ lab: { roster } });
    const result = new Map<string, string>();
    for (const [stackName, template] of stacks) {
      for (const [id, resource] of Object.entries(instancesOf(template))) {
        result.set(tag(resource, 'dasklab:student')!, JSON.stringify({ stackName, id, resource }));
      }
    }
    return result;
  }

  const roster = ids(40);
  const before = machinesByStudent(roster);

  test('adding a student changes no other student’s machine', () => {
    const after = machinesByStudent([...roster.slice(0, 20), 'newcomer', ...roster.slice(20)]);
    for (const student of roster) expect(after.get(student)).toBe(before.get(student));
    expect(after.has('newcomer')).toBe(true);
  });

  test('removing a student changes no other student’s machine', () => {
    const after = machinesByStudent(roster.filter((s) => s !== 'student-7'));
    for (const student of roster.filter((s) => s !== 'student-7')) expect(after.get(student)).toBe(before.get(student));
    expect(after.has('student-7')).toBe(false);
  });

  test('reordering the roster changes nothing', () => {
    const after = machinesByStudent([...roster].reverse());
    expect(after).toEqual(before);
  });
});

describe('schedule', () => {
  test('daily stop and start with EventBridge Scheduler calling EC2 directly, in the given time zone', () => {
    // GIVEN a schedule
    const stacks = synthLab({
      lab: { roster: ['alice'], schedule: { stop: '18:30', start: '08:00', timezone: 'Europe/Berlin', days: ['MON', 'TUE', 'WED', 'THU', 'FRI'] } },
    });
    const template = stacks.get(`dasklab-Lab-${shardOf('alice')}`)!;
    const instanceId = Object.keys(instancesOf(template))[0];
    // THEN two schedules, no Lambda
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 18 ? * MON,TUE,WED,THU,FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: {
        Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:::aws-sdk:ec2:stopInstances']] },
        Input: { 'Fn::Join': ['', ['{"InstanceIds":["', { Ref: instanceId }, '"]}']] },
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 8 ? * MON,TUE,WED,THU,FRI *)' });
    // AND the schedule's role may stop and start only this stack's machines
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as any;
    expect(policy.Properties.PolicyDocument.Statement).toHaveLength(1);
    expect(policy.Properties.PolicyDocument.Statement[0].Action).toEqual(['ec2:StopInstances', 'ec2:StartInstances']);
    expect(JSON.stringify(policy.Properties.PolicyDocument.Statement[0].Resource)).toContain(instanceId);
  });
});
