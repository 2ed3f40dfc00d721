/**
 * What the README promises most loudly, held by behaviour rather than by how
 * the code does it: no port open to the world unless asked, encrypted disks,
 * least egress, a replacement warning that does not miss a replaced machine,
 * keys written 0600, spot workers that survive interruption and leave nothing
 * behind, and cdk-nag acknowledgements that cover only what they say. Each
 * test here fails when the guarded behaviour is switched off.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  CancelSpotInstanceRequestsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { addDasklabStacks } from '../../lib/app';
import { ClusterStack } from '../../lib/cluster/cluster-stack';
import { validateConfig } from '../../lib/config';
import { DasklabConfigInput } from '../../lib/config/schema';
import { writeDirAtomically } from '../../lib/cli/atomic-dir';
import { renderTlsClientFiles, TLS_CLIENT_FILES } from '../../lib/cli/tls-client';
import { handleSpotMachine } from '../../lib/handlers/spot-machine';
import { MachineStack } from '../../lib/machine/machine-stack';
import { NAG_ACKNOWLEDGEMENTS } from '../../lib/nag';
import { replacementWarning } from '../../lib/replacement-check';
import { STACK_SHAPES, synthesizeShape, SynthesizedStack } from './stack-shapes';
import { configOf, testApp } from './support';

const REPO = path.join(__dirname, '..', '..');

/** The templates of the app for a config, by stack name (no cdk-nag report written). */
function templatesOf(input: DasklabConfigInput): Map<string, any> {
  const app = testApp();
  addDasklabStacks(app, validateConfig(input, 'test'));
  return new Map(app.synth().stacks.map((s) => [s.stackName, s.template]));
}

/** The resource a Ref, Fn::GetAtt or Fn::ImportValue points to, following exports across stacks. */
function resolve(stacks: readonly SynthesizedStack[], stackName: string, reference: any): any {
  if (!reference || typeof reference !== 'object') return undefined;
  const imported = reference['Fn::ImportValue'];
  if (typeof imported === 'string') {
    for (const s of stacks) {
      const output = Object.values<any>(s.template.Outputs ?? {}).find((o) => o.Export?.Name === imported);
      if (output) return resolve(stacks, s.stackName, output.Value);
    }
    return undefined;
  }
  const logicalId = reference.Ref ?? reference['Fn::GetAtt']?.[0];
  return stacks.find((s) => s.stackName === stackName)?.template.Resources?.[logicalId];
}

/** Every machine of an app: instances, and spot machines (launched by a custom resource). */
function machinesOf(stacks: readonly SynthesizedStack[]): Array<{ stackName: string; id: string; launchTemplate: any; ownDisks: any[] | undefined }> {
  return stacks.flatMap((s) =>
    Object.entries<any>(s.template.Resources ?? {}).flatMap(([id, r]) => {
      if (r.Type === 'AWS::EC2::Instance') {
        return [{ stackName: s.stackName, id, launchTemplate: resolve(stacks, s.stackName, r.Properties.LaunchTemplate?.LaunchTemplateId), ownDisks: r.Properties.BlockDeviceMappings }];
      }
      if (r.Type === 'Custom::DasklabSpotMachine') {
        return [{ stackName: s.stackName, id, launchTemplate: resolve(stacks, s.stackName, r.Properties.LaunchTemplateId), ownDisks: undefined }];
      }
      return [];
    }),
  );
}

describe('encrypted disks', () => {
  test.each(STACK_SHAPES.map(([name, input]) => [name, input] as const))('%s: every machine\'s root volume is encrypted', (_name, input) => {
    // GIVEN every machine of the app, and the launch template it launches from (in its own stack or, for labs, the shared one)
    const stacks = synthesizeShape(input);
    const machines = machinesOf(stacks);
    expect(machines.length).toBeGreaterThan(0);
    for (const machine of machines) {
      // THEN the root device is encrypted where it is defined: by the machine itself, or by its launch template
      const disks: any[] = machine.ownDisks ?? machine.launchTemplate?.Properties?.LaunchTemplateData?.BlockDeviceMappings ?? [];
      const root = disks.find((d) => d.DeviceName === '/dev/sda1');
      expect({ machine: `${machine.stackName}/${machine.id}`, root: root?.Ebs?.Encrypted }).toEqual({ machine: `${machine.stackName}/${machine.id}`, root: true });
      // AND a disk the machine adds itself is encrypted too
      for (const disk of machine.ownDisks ?? []) expect(disk.Ebs?.Encrypted).toBe(true);
    }
  });

  test('the lab launch template encrypts the root volume of every student machine', () => {
    // GIVEN a lab of student machines and one with per-student clusters (their launch template is in their own student stack)
    for (const input of [{ lab: { roster: ['alice', 'bob', 'carol'] } }, { lab: { roster: ['alice', 'bob'], workersPerStudent: 2 } }]) {
      const stacks = synthesizeShape(input);
      const students = machinesOf(stacks).filter((m) => /-Lab-\d+$/.test(m.stackName));
      expect(students).toHaveLength(input.lab.roster.length * (1 + (input.lab.workersPerStudent ?? 0)));
      for (const machine of students) {
        // THEN each launches from its stack's template, whose root volume is encrypted gp3
        expect(machine.ownDisks).toBeUndefined();
        expect(machine.launchTemplate?.Type).toBe('AWS::EC2::LaunchTemplate');
        expect(machine.launchTemplate.Properties.LaunchTemplateData.BlockDeviceMappings).toEqual([
          expect.objectContaining({ DeviceName: '/dev/sda1', Ebs: expect.objectContaining({ Encrypted: true, VolumeType: 'gp3' }) }),
        ]);
      }
    }
  });
});

describe('cdk-nag acknowledgements', () => {
  /** `tests/unit/x.test.ts` › "test name", as a reason cites a test. */
  const CITATION = /`(tests\/[\w./-]+\.test\.ts)` › "([^"]+)"/g;

  test('every test an acknowledgement cites exists, by file and name', () => {
    // GIVEN every acknowledgement's reason
    const cited = Object.entries(NAG_ACKNOWLEDGEMENTS).flatMap(([key, { reason }]) => {
      const citations = [...reason.matchAll(CITATION)].map((m) => ({ key, file: m[1], name: m[2] }));
      // THEN a reason that relies on a test names it in the citation form
      if (/\btests?\b/i.test(reason)) expect({ key, citations: citations.length > 0 }).toEqual({ key, citations: true });
      return citations;
    });
    // (every reason was read: the acknowledgements are not empty; none may cite a test today)
    expect(Object.keys(NAG_ACKNOWLEDGEMENTS).length).toBeGreaterThan(0);
    for (const { key, file, name } of cited) {
      // AND the file exists and holds a test of exactly that name
      const source = fs.existsSync(path.join(REPO, file)) ? fs.readFileSync(path.join(REPO, file), 'utf8') : '';
      const declared = [...source.matchAll(/\btest(?:\.each\([^)]*\))?\(\s*'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1].replace(/\\'/g, "'"));
      expect({ key, file, name, found: declared.includes(name) }).toEqual({ key, file, name, found: true });
    }
  });

  test('the report exists and every plugin ran: a check over no report would pass anything', () => {
    // GIVEN the default app synthesized with the checks
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-nag-'));
    const app = testApp({ outdir });
    addDasklabStacks(app, configOf({}));
    app.synth();
    // THEN the report names the AWS Solutions pack with a success
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((p: any) => [p.pluginName, p.conclusion])).toEqual(expect.arrayContaining([[expect.stringMatching(/AwsSolutions/), 'success']]));
  });

  /** Synthesizes an app, adding a world-open SSH rule to the security group `pick` chooses. */
  function synthWithWorldOpenRuleOn(input: DasklabConfigInput, pick: (groups: ec2.SecurityGroup[]) => ec2.SecurityGroup): void {
    const app = testApp({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-nag-')) });
    addDasklabStacks(app, configOf(input));
    const groups = app.node.findAll().filter((c): c is ec2.SecurityGroup => c instanceof ec2.SecurityGroup);
    pick(groups).addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22), 'careless');
    app.synth();
  }

  test.each<[string, DasklabConfigInput, RegExp]>([
    ['the machine of a default config', {}, /Fleet\/Access\/SecurityGroup$/],
    ['a cluster worker group, while the config acknowledges world-open SSH and dashboard', { cluster: { workers: 1 }, access: { sshCidrs: ['0.0.0.0/0'], dashboardCidrs: ['0.0.0.0/0'], allowWorldOpen: ['sshCidrs', 'dashboardCidrs'] } }, /ClusterAccess\/Worker$/],
    ['a cluster member group, while the config acknowledges world-open SSH', { cluster: { workers: 1 }, access: { sshCidrs: ['::/0'], allowWorldOpen: ['sshCidrs'] } }, /ClusterAccess\/Member$/],
    ['a student cluster group', { lab: { roster: ['alice'], workersPerStudent: 1 } }, /Student-alice\/Cluster$/],
  ])('a world-open rule the config did not ask for fails synth: %s', (_name, input, which) => {
    // GIVEN an app, and a world-open rule added to one group the config did not open
    // WHEN synthesized THEN cdk-nag reports it: the acknowledgement covers only the groups the config opened
    expect(() =>
      synthWithWorldOpenRuleOn(input, (groups) => {
        const group = groups.find((g) => which.test(g.node.path));
        if (!group) throw new Error(`no group ${which} among ${groups.map((g) => g.node.path).join(', ')}`);
        return group;
      }),
    ).toThrow(/AwsSolutions-EC23/);
  });
});

describe('world-open access', () => {
  const SPELLINGS = ['0:0:0:0:0:0:0:0/0', '::0/0', '0::/0', '0000::/0', '::0.0.0.0/0', '0:0::0/0'];

  test.each(SPELLINGS.flatMap((cidr) => [['sshCidrs', cidr], ['dashboardCidrs', cidr]]))('%s: %s is world-open and refused unless acknowledged', (field, cidr) => {
    // GIVEN another spelling of ::/0 WHEN validated THEN it is refused like ::/0, naming the field and the way to acknowledge it
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(() => validateConfig({ access: { [field]: [cidr] } }, 'test')).toThrow(
      new RegExp(`access\\.${field}\\b.*${escaped(cidr)}.* is not accepted; .*whole internet.*add "${field}" to access\\.allowWorldOpen`),
    );
    // AND acknowledged, it is accepted
    expect(validateConfig({ access: { [field]: [cidr], allowWorldOpen: [field] } }, 'test').access[field as 'sshCidrs']).toEqual([cidr]);
  });

  test.each(['0.0.0.0/0', '::/0', '0:0:0:0:0:0:0:0/0'])('the cluster refuses a world-open dashboard (%s) the config did not acknowledge, even if the config check were bypassed', (cidr) => {
    // GIVEN a checked cluster config, then a world-open dashboard slipped in without allowWorldOpen
    const config = configOf({ cluster: { workers: 1 } });
    const unchecked = { ...config, access: { ...config.access, dashboardCidrs: [cidr], allowWorldOpen: [] } };
    // WHEN the stack is built THEN it refuses, naming the setting
    expect(() => new ClusterStack(new App(), 'X', { config: unchecked })).toThrow(/dashboardCidrs.*allowWorldOpen/s);
  });

  test('the machine refuses world-open SSH in another spelling too, even if the config check were bypassed', () => {
    const config = configOf({});
    const unchecked = { ...config, access: { ...config.access, sshCidrs: ['0::/0'], allowWorldOpen: [] } };
    expect(() => new MachineStack(new App(), 'X', { config: unchecked })).toThrow(/sshCidrs.*allowWorldOpen/s);
  });
});

describe('least egress', () => {
  /** Every egress rule of a stack, inline or standalone. */
  function egressRules(template: any): Array<{ group: string; rule: any }> {
    return Object.entries<any>(template.Resources ?? {}).flatMap(([id, r]) => {
      if (r.Type === 'AWS::EC2::SecurityGroup') return (r.Properties.SecurityGroupEgress ?? []).map((rule: any) => ({ group: id, rule }));
      if (r.Type === 'AWS::EC2::SecurityGroupEgress') return [{ group: JSON.stringify(r.Properties.GroupId), rule: r.Properties }];
      return [];
    });
  }

  /** The placeholder rule that matches no traffic, which keeps EC2 from adding its allow-all rule. */
  const matchesNothing = (rule: any) => rule.CidrIp === '255.255.255.255/32' && rule.IpProtocol === 'icmp';

  test.each(STACK_SHAPES.map(([name, input]) => [name, input] as const))('%s: machines reach the internet on HTTP and HTTPS only, and each other on the Dask ports only', (_name, input) => {
    for (const { stackName, template } of synthesizeShape(input)) {
      // THEN every security group has inline egress rules: without them EC2 allows all egress
      for (const [id, r] of Object.entries<any>(template.Resources ?? {})) {
        if (r.Type !== 'AWS::EC2::SecurityGroup') continue;
        expect({ group: `${stackName}/${id}`, inline: (r.Properties.SecurityGroupEgress ?? []).length > 0 }).toEqual({ group: `${stackName}/${id}`, inline: true });
      }
      for (const { group, rule } of egressRules(template)) {
        const where = `${stackName}/${group}`;
        // AND no rule allows all protocols
        expect({ where, protocol: rule.IpProtocol }).toEqual({ where, protocol: matchesNothing(rule) ? 'icmp' : 'tcp' });
        if (matchesNothing(rule)) continue;
        if (rule.CidrIp !== undefined || rule.CidrIpv6 !== undefined) {
          // AND an address range is reached on port 80 or 443 only, or on network.proxy's port when one is set
          const proxy = configOf(input).network?.proxy;
          const proxyPort = proxy ? Number(new URL(proxy).port) : undefined;
          const allowed = rule.FromPort === 80 ? 80 : rule.FromPort === proxyPort ? proxyPort : 443;
          expect({ where, ports: [rule.FromPort, rule.ToPort] }).toEqual({ where, ports: [allowed, allowed] });
        } else {
          // AND another group is reached on the Dask ports only (8786 scheduler, 8788-8789 worker and nanny)
          expect(rule.DestinationSecurityGroupId).toBeDefined();
          expect([[8786, 8786], [8788, 8789]]).toContainEqual([rule.FromPort, rule.ToPort]);
        }
      }
    }
  });

  test('a per-student cluster\'s own group sends only Dask traffic, only to itself', () => {
    // GIVEN a lab with per-student clusters
    const stacks = synthesizeShape(STACK_SHAPES.find(([name]) => name.includes('per-student clusters'))![1]);
    const groups = stacks.flatMap((s) =>
      Object.entries<any>(s.template.Resources).filter(([id, r]) => r.Type === 'AWS::EC2::SecurityGroup' && /Cluster/.test(id)).map(([id]) => ({ s, id })),
    );
    expect(groups).toHaveLength(2);
    for (const { s, id } of groups) {
      // THEN its inline egress matches nothing, and its standalone egress goes to itself on the Dask ports
      expect(s.template.Resources[id].Properties.SecurityGroupEgress.every(matchesNothing)).toBe(true);
      const own = egressRules(s.template).filter(({ rule }) => JSON.stringify(rule.GroupId) === JSON.stringify({ 'Fn::GetAtt': [id, 'GroupId'] }));
      expect(own.map(({ rule }) => [rule.DestinationSecurityGroupId, rule.FromPort, rule.ToPort])).toEqual([
        [{ 'Fn::GetAtt': [id, 'GroupId'] }, 8786, 8786],
        [{ 'Fn::GetAtt': [id, 'GroupId'] }, 8788, 8789],
      ]);
    }
  });
});

describe('the replacement warning', () => {
  const base = templatesOf({});
  const MACHINE = 'dasklab-Machine';

  /** A copy of the templates with the machine's instance changed by `edit`. */
  function edited(edit: (stacks: Map<string, any>, instanceId: string) => void): Map<string, any> {
    const copy = new Map([...base].map(([name, t]) => [name, JSON.parse(JSON.stringify(t))]));
    const instanceId = Object.entries<any>(copy.get(MACHINE).Resources).find(([, r]) => r.Type === 'AWS::EC2::Instance')![0];
    edit(copy, instanceId);
    return copy;
  }

  test('a machine moved to another subnet is named as replaced', () => {
    // GIVEN the machine, then the same machine in another subnet (SubnetId replaces an instance)
    const after = edited((stacks, id) => {
      stacks.get(MACHINE).Resources[id].Properties.SubnetId = { Ref: 'SomeOtherSubnet' };
    });
    // THEN the warning names it
    expect(replacementWarning(base, after)).toContain('  - dasklab-machine');
  });

  test('a machine under another logical id is named as replaced: CloudFormation creates a new one and deletes the old', () => {
    const after = edited((stacks, id) => {
      const resources = stacks.get(MACHINE).Resources;
      resources[`${id}Renamed`] = resources[id];
      delete resources[id];
    });
    expect(replacementWarning(base, after)).toContain('  - dasklab-machine');
  });

  test('a machine moved to another stack is named as replaced', () => {
    const after = edited((stacks) => {
      stacks.set('dasklab-Elsewhere', stacks.get(MACHINE));
      stacks.delete(MACHINE);
    });
    expect(replacementWarning(base, after)).toContain('  - dasklab-machine');
  });

  test('the same templates give no warning', () => {
    expect(replacementWarning(base, edited(() => undefined))).toBeUndefined();
  });
});

describe('roster ids', () => {
  test('an id of 32 characters is accepted and one of 33 refused, naming its length', () => {
    const id32 = `a${'b'.repeat(31)}`;
    expect(validateConfig({ lab: { roster: [id32] } }, 'test').lab!.students.map((s) => s.id)).toEqual([id32]);
    expect(() => validateConfig({ lab: { roster: [`${id32}c`] } }, 'test')).toThrow(/expected a student id of 1 to 32 .*it has 33 characters/s);
  });
});

describe('tls-client files', () => {
  test('the client key is written 0600 and only it is private; the directory is 0700', () => {
    // GIVEN the client's TLS material, written as tls-client writes it
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-tls-')), 'out');
    const pem = (what: string) => `-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----`;
    const previous = process.umask(0o000); // a permissive umask must not widen the key
    try {
      writeDirAtomically(dir, renderTlsClientFiles({ caCert: pem('CERTIFICATE'), clientCert: pem('CERTIFICATE'), clientKey: pem('PRIVATE KEY') }, 'demo', 'tls://10.0.0.10:8786'), false);
    } finally {
      process.umask(previous);
    }
    // THEN
    const mode = (name: string) => fs.statSync(path.join(dir, name)).mode & 0o777;
    expect(mode(TLS_CLIENT_FILES.clientKey)).toBe(0o600);
    expect(mode(TLS_CLIENT_FILES.caCert)).toBe(0o644);
    expect(mode(TLS_CLIENT_FILES.clientCert)).toBe(0o644);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe('spot workers', () => {
  const ec2Mock = mockClient(EC2Client);
  const context = { getRemainingTimeInMillis: () => 600_000 };
  const event = (requestType: 'Create' | 'Delete', physicalResourceId?: string): any => ({
    RequestType: requestType,
    LogicalResourceId: 'Worker1',
    PhysicalResourceId: physicalResourceId,
    ResourceProperties: {
      LaunchTemplateId: 'lt-0123456789abcdef0',
      LaunchTemplateVersion: '1',
      InstanceType: 'm7g.large',
      SubnetId: 'subnet-1',
      SecurityGroupIds: ['sg-1'],
      UserData: 'IyEvYmluL2Jhc2g=',
      Tags: [{ Key: 'dasklab:app', Value: 'demo' }],
    },
  });
  beforeEach(() => {
    ec2Mock.reset();
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  test('a spot worker is asked for as a persistent request that stops, not terminates, when capacity is reclaimed', async () => {
    // GIVEN EC2 launches the machine and it runs
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', State: { Name: 'running' }, PrivateIpAddress: '10.0.1.5' }] }] });
    // WHEN CloudFormation creates the worker
    const result = await handleSpotMachine(new EC2Client({ region: 'eu-west-1' }), event('Create'), context);
    // THEN the request keeps the worker (its id, disk and bootstrap) across interruptions
    const launch = ec2Mock.commandCalls(RunInstancesCommand)[0].args[0].input;
    expect(launch.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop', ValidUntil: expect.any(Date) },
    });
    // AND it stays valid for years, not the 7 days EC2 gives a request without ValidUntil
    expect(launch.InstanceMarketOptions!.SpotOptions!.ValidUntil!.getTime() - Date.now()).toBeGreaterThan(5 * 365 * 24 * 3600 * 1000);
    expect(result.physicalResourceId).toBe('i-0abc');
  });

  test('deleting a spot worker cancels its spot request before terminating it', async () => {
    // GIVEN a running spot worker with its persistent request
    let terminated = false;
    ec2Mock.on(DescribeInstancesCommand).callsFake(() => ({
      Reservations: [{ Instances: [{ InstanceId: 'i-0abc', SpotInstanceRequestId: 'sir-1', State: { Name: terminated ? 'terminated' : 'running' } }] }],
    }));
    ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
    ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
      terminated = true;
      return {};
    });
    // WHEN CloudFormation deletes it
    await handleSpotMachine(new EC2Client({ region: 'eu-west-1' }), event('Delete', 'i-0abc'), context);
    // THEN the request is cancelled (else EC2 launches a new instance for it), then the instance terminated
    const calls = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(ec2Mock.commandCalls(CancelSpotInstanceRequestsCommand).map((c) => c.args[0].input)).toEqual([{ SpotInstanceRequestIds: ['sir-1'] }]);
    expect(calls.indexOf('CancelSpotInstanceRequestsCommand')).toBeLessThan(calls.indexOf('TerminateInstancesCommand'));
    expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0abc'] }]);
  });
});

