/**
 * The replacement check on small hand-made templates: each rule of
 * `machineUpdates` (identity by Name tag, moves, launch template data through
 * Ref, GetAtt and an import, the specification's verdicts, spot machines), the
 * warning's text and the reading of `cdk.out`. The stack-level tests
 * (stability, update-rules, guards) prove the same rules on synthesized apps.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  machineUpdates,
  readTemplates,
  replacedMachines,
  replacementWarning,
  restartedMachines,
  RESTARTING_INSTANCE_PROPERTIES,
  Templates,
} from '../../lib/replacement-check';
import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine-properties';

/** An instance resource named `name`, launched from launch template `Lt`. */
function instance(name: string | undefined, props: Record<string, unknown> = {}): any {
  return {
    Type: 'AWS::EC2::Instance',
    Properties: {
      ImageId: 'ami-1',
      SubnetId: 'subnet-1',
      UserData: 'u1',
      InstanceType: 't3.medium',
      LaunchTemplate: { LaunchTemplateId: { Ref: 'Lt' }, Version: { 'Fn::GetAtt': ['Lt', 'LatestVersionNumber'] } },
      ...(name === undefined ? {} : { Tags: [{ Key: 'Project', Value: 'p' }, { Key: 'Name', Value: name }] }),
      ...props,
    },
  };
}

/** A spot machine resource named `name`. */
function spotMachine(name: string, props: Record<string, unknown> = {}): any {
  return {
    Type: SPOT_MACHINE_RESOURCE_TYPE,
    Properties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:launcher',
      LaunchTemplateId: { Ref: 'Lt' },
      SubnetId: 'subnet-1',
      UserData: 'u1',
      Tags: [{ Key: 'Name', Value: name }],
      ...props,
    },
  };
}

function launchTemplate(data: Record<string, unknown> = { MetadataOptions: { HttpTokens: 'required' } }): any {
  return { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: data } };
}

function templates(stacks: Record<string, Record<string, any>>, outputs: Record<string, Record<string, any>> = {}): Templates {
  return new Map(Object.entries(stacks).map(([stack, resources]) => [stack, { Resources: resources, ...(outputs[stack] ? { Outputs: outputs[stack] } : {}) }]));
}

function updates(before: Templates, after: Templates): Record<string, string> {
  return Object.fromEntries(machineUpdates(before, after));
}

const BASE = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine') } });

describe('machineUpdates', () => {
  test('the same templates change nothing', () => {
    expect(machineUpdates(BASE, BASE).size).toBe(0);
  });

  test('a machine only before or only after the deploy is not listed (created or deleted, not updated)', () => {
    const after = templates({ App: { Lt: launchTemplate(), Other: instance('dasklab-other', { SubnetId: 'subnet-2' }) } });
    expect(machineUpdates(BASE, after).size).toBe(0);
    expect(machineUpdates(after, BASE).size).toBe(0);
  });

  test('a machine that moves to another stack or logical id is replaced, found by its Name tag', () => {
    // GIVEN the same machine, named alike, under a new logical id, then in another stack
    const renamed = templates({ App: { Lt: launchTemplate(), Machine2: instance('dasklab-machine') } });
    const moved = templates({ App2: { Lt: launchTemplate(), Machine: instance('dasklab-machine') } });
    // THEN both are replacements
    expect(updates(BASE, renamed)).toEqual({ 'dasklab-machine': 'replaced' });
    expect(updates(BASE, moved)).toEqual({ 'dasklab-machine': 'replaced' });
  });

  test('without a Name tag a machine is known by stack and logical id', () => {
    const before = templates({ App: { Lt: launchTemplate(), Machine: instance(undefined) } });
    const after = templates({ App: { Lt: launchTemplate(), Machine: instance(undefined, { SubnetId: 'subnet-2' }) } });
    expect(updates(before, after)).toEqual({ 'App/Machine': 'replaced' });
    // a new logical id is another machine: one deleted, one created, none updated
    const renamed = templates({ App: { Lt: launchTemplate(), Machine2: instance(undefined, { SubnetId: 'subnet-2' }) } });
    expect(machineUpdates(before, renamed).size).toBe(0);
  });

  test('a property the specification says replaces the instance replaces it (SubnetId, ImageId, KeyName)', () => {
    for (const [property, value] of [['SubnetId', 'subnet-2'], ['ImageId', 'ami-2'], ['KeyName', 'other']]) {
      const after = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { [property]: value }) } });
      expect({ property, update: updates(BASE, after) }).toEqual({ property, update: { 'dasklab-machine': 'replaced' } });
    }
  });

  test('UserData and InstanceType restart the instance; each restarting property is one AWS lists as "Some interruptions"', () => {
    for (const [property, value] of [['UserData', 'u2'], ['InstanceType', 't3.large']]) {
      const after = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { [property]: value }) } });
      expect({ property, update: updates(BASE, after) }).toEqual({ property, update: { 'dasklab-machine': 'restarted' } });
    }
    expect([...RESTARTING_INSTANCE_PROPERTIES].sort()).toEqual(
      ['AdditionalInfo', 'Affinity', 'EbsOptimized', 'HostId', 'InstanceType', 'KernelId', 'RamdiskId', 'UserData'],
    );
    for (const property of RESTARTING_INSTANCE_PROPERTIES) {
      const after = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { [property]: 'changed' }) } });
      expect({ property, update: updates(BASE, after) }).toEqual({ property, update: { 'dasklab-machine': 'restarted' } });
    }
  });

  test('a "maybe" outside the restarting properties counts as a replacement (Tenancy, BlockDeviceMappings)', () => {
    for (const property of ['Tenancy', 'BlockDeviceMappings']) {
      const after = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { [property]: 'changed' }) } });
      expect({ property, update: updates(BASE, after) }).toEqual({ property, update: { 'dasklab-machine': 'replaced' } });
    }
  });

  test('a replacing change beside a restarting one is a replacement', () => {
    const after = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { UserData: 'u2', SubnetId: 'subnet-2' }) } });
    expect(updates(BASE, after)).toEqual({ 'dasklab-machine': 'replaced' });
    const restartFirst = templates({ App: { Lt: launchTemplate(), Machine: instance('dasklab-machine', { Tenancy: 'dedicated', UserData: 'u2' }) } });
    expect(updates(BASE, restartFirst)).toEqual({ 'dasklab-machine': 'replaced' });
  });

  test('an in-place change (tags, monitoring) neither replaces nor restarts', () => {
    const after = templates({
      App: {
        Lt: launchTemplate(),
        Machine: instance('dasklab-machine', { Monitoring: true, Tags: [{ Key: 'Name', Value: 'dasklab-machine' }, { Key: 'Owner', Value: 'x' }] }),
      },
    });
    expect(machineUpdates(BASE, after).size).toBe(0);
  });

  test('new launch template data replaces the machine, though the instance itself is unchanged', () => {
    const after = templates({ App: { Lt: launchTemplate({ MetadataOptions: { HttpTokens: 'optional' } }), Machine: instance('dasklab-machine') } });
    expect(updates(BASE, after)).toEqual({ 'dasklab-machine': 'replaced' });
  });

  test('the launch template is found through Fn::GetAtt and through an import from another stack', () => {
    // GIVEN a machine whose launch template id is a GetAtt
    const getAtt = (data?: Record<string, unknown>) => templates({
      App: { Lt: launchTemplate(data), Machine: instance('m', { LaunchTemplate: { LaunchTemplateId: { 'Fn::GetAtt': ['Lt', 'LaunchTemplateId'] } } }) },
    });
    expect(updates(getAtt(), getAtt({ ImageId: 'ami-2' }))).toEqual({ m: 'replaced' });
    // GIVEN a launch template in a shared stack, exported, imported by the machine's stack
    const imported = (data?: Record<string, unknown>) => templates(
      {
        Shared: { Lt: launchTemplate(data) },
        Student: { Machine: instance('m', { LaunchTemplate: { LaunchTemplateId: { 'Fn::ImportValue': 'shared-lt' } } }) },
      },
      { Shared: { LtOut: { Value: { Ref: 'Lt' }, Export: { Name: 'shared-lt' } }, Plain: { Value: 'x' } } },
    );
    expect(updates(imported(), imported({ ImageId: 'ami-2' }))).toEqual({ m: 'replaced' });
    expect(machineUpdates(imported(), imported()).size).toBe(0);
  });

  test('a launch template id that points nowhere known (a literal, an unknown export or resource, none) is not followed', () => {
    for (const [how, launchTemplateId] of [
      ['a literal id', { LaunchTemplateId: 'lt-0123' }],
      ['an unknown export', { LaunchTemplateId: { 'Fn::ImportValue': 'nope' } }],
      ['an unknown resource', { LaunchTemplateId: { Ref: 'Nope' } }],
      ['no launch template', undefined],
    ] as const) {
      // GIVEN a machine that does not name Lt, WHEN Lt's data changes
      const before = templates({ App: { Lt: launchTemplate(), Machine: instance('m', { LaunchTemplate: launchTemplateId }) } });
      const after = templates({ App: { Lt: launchTemplate({ ImageId: 'ami-9' }), Machine: instance('m', { LaunchTemplate: launchTemplateId }) } });
      // THEN the machine is not affected
      expect({ how, size: machineUpdates(before, after).size }).toEqual({ how, size: 0 });
    }
  });

  test('an instance that becomes a spot machine of the same name is replaced', () => {
    const after = templates({ App: { Lt: launchTemplate(), Machine: spotMachine('dasklab-machine') } });
    expect(updates(BASE, after)).toEqual({ 'dasklab-machine': 'replaced' });
    expect(updates(after, BASE)).toEqual({ 'dasklab-machine': 'replaced' });
  });

  describe('a spot machine', () => {
    const spot = (props: Record<string, unknown> = {}, data?: Record<string, unknown>) =>
      templates({ Workers: { Lt: launchTemplate(data), Worker: spotMachine('dasklab-worker-1', props) } });

    test('its tags and service token change in place', () => {
      expect(machineUpdates(spot(), spot({ Tags: [{ Key: 'Name', Value: 'dasklab-worker-1' }, { Key: 'Owner', Value: 'x' }] })).size).toBe(0);
      expect(machineUpdates(spot(), spot({ ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:other' })).size).toBe(0);
    });

    test('any other property (user data included) launches a new machine', () => {
      expect(updates(spot(), spot({ UserData: 'u2' }))).toEqual({ 'dasklab-worker-1': 'replaced' });
      expect(updates(spot(), spot({ SubnetId: 'subnet-2' }))).toEqual({ 'dasklab-worker-1': 'replaced' });
      expect(updates(spot(), spot({ UserData: 'u2', Tags: [{ Key: 'Name', Value: 'dasklab-worker-1' }, { Key: 'Owner', Value: 'x' }] }))).toEqual({ 'dasklab-worker-1': 'replaced' });
    });

    test('its launch template is found through LaunchTemplateId', () => {
      expect(updates(spot(), spot({}, { ImageId: 'ami-2' }))).toEqual({ 'dasklab-worker-1': 'replaced' });
    });
  });

  test('the map is sorted by name, and replaced and restarted machines are told apart', () => {
    const before = templates({ App: { Lt: launchTemplate(), Zed: instance('zed'), Amy: instance('amy'), Max: instance('max') } });
    const after = templates({
      App: { Lt: launchTemplate(), Zed: instance('zed', { UserData: 'u2' }), Amy: instance('amy', { SubnetId: 'subnet-2' }), Max: instance('max', { UserData: 'u2' }) },
    });
    expect([...machineUpdates(before, after)]).toEqual([['amy', 'replaced'], ['max', 'restarted'], ['zed', 'restarted']]);
    expect(replacedMachines(before, after)).toEqual(['amy']);
    expect(restartedMachines(before, after)).toEqual(['max', 'zed']);
  });

  test('templates without Resources or Properties are read as empty', () => {
    const bare = new Map<string, any>([['Empty', {}], ['App', { Resources: { Lt: launchTemplate(), Machine: { Type: 'AWS::EC2::Instance' } } }]]);
    expect(machineUpdates(bare, bare).size).toBe(0);
    const named = templates({ App: { Lt: launchTemplate(), Machine: instance(undefined) } });
    expect(updates(bare, named)).toEqual({ 'App/Machine': 'replaced' });
  });
});

describe('replacementWarning', () => {
  test('names replaced and restarted machines, each with what it means', () => {
    const before = templates({ App: { Lt: launchTemplate(), A: instance('a'), B: instance('b') } });
    const after = templates({ App: { Lt: launchTemplate(), A: instance('a', { SubnetId: 'subnet-2' }), B: instance('b', { UserData: 'u2' }) } });
    expect(replacementWarning(before, after)).toBe([
      'dasklab: WARNING: compared with the previous synth in cdk.out, the next deploy REPLACES 1 machine(s).',
      'A replaced machine starts over from a new disk: files on it are lost, and its IP address and host keys change.',
      '  - a',
      'dasklab: WARNING: compared with the previous synth in cdk.out, the next deploy RESTARTS 1 machine(s).',
      'A restarted machine is stopped and started: it keeps its disk, gets a new public IP address, applies the new settings and verifies itself again before the deploy completes.',
      '  - b',
    ].join('\n'));
  });

  test('nothing to say is undefined', () => {
    expect(replacementWarning(BASE, BASE)).toBeUndefined();
  });

  test('lists 20 machines whole and cuts a longer list at 20 with the count of the rest', () => {
    const many = (n: number, userData: string) => templates({
      App: Object.fromEntries([['Lt', launchTemplate()], ...Array.from({ length: n }, (_, i) => [`M${i}`, instance(`m${String(i).padStart(2, '0')}`, { UserData: userData })])]),
    });
    const twenty = replacementWarning(many(20, 'u1'), many(20, 'u2'))!.split('\n');
    expect(twenty).toHaveLength(22);
    expect(twenty[0]).toContain('RESTARTS 20 machine(s)');
    expect(twenty[21]).toBe('  - m19');
    const twentyOne = replacementWarning(many(21, 'u1'), many(21, 'u2'))!.split('\n');
    expect(twentyOne).toHaveLength(23);
    expect(twentyOne[0]).toContain('RESTARTS 21 machine(s)');
    expect(twentyOne.slice(20)).toEqual(['  - m18', '  - m19', '  - ... and 1 more']);
  });
});

describe('readTemplates', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-cdkout-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('no cdk.out (or no manifest) is no templates', () => {
    expect(readTemplates(path.join(dir, 'missing')).size).toBe(0);
    expect(readTemplates(dir).size).toBe(0);
  });

  test('reads each stack artifact whose template exists, by display name or else file name', () => {
    // GIVEN a manifest with two stacks, an asset manifest and a stack whose template is gone
    fs.writeFileSync(path.join(dir, 'A.template.json'), JSON.stringify({ Resources: { X: { Type: 'AWS::SNS::Topic' } } }));
    fs.writeFileSync(path.join(dir, 'B.template.json'), JSON.stringify({ Resources: {} }));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
      artifacts: {
        A: { type: 'aws:cloudformation:stack', displayName: 'Stage/A', properties: { templateFile: 'A.template.json' } },
        B: { type: 'aws:cloudformation:stack', properties: { templateFile: 'B.template.json' } },
        Gone: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Gone.template.json' } },
        Assets: { type: 'cdk:asset-manifest', properties: { file: 'A.template.json' } },
      },
    }));
    // WHEN / THEN
    const read = readTemplates(dir);
    expect([...read.keys()]).toEqual(['Stage/A', 'B.template.json']);
    expect(read.get('Stage/A')).toEqual({ Resources: { X: { Type: 'AWS::SNS::Topic' } } });
  });

  test('a manifest without artifacts, or that is not JSON, is no templates', () => {
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
    expect(readTemplates(dir).size).toBe(0);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{not json');
    expect(readTemplates(dir).size).toBe(0);
  });
});
