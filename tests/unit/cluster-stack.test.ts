import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDasklabStacks } from '../../lib/app';
import { hostInCidr } from '../../lib/config/network-schema';
import { workerNames } from '../../lib/cluster/worker-names';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';
import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine';
import { SynthesizedApp } from './iam-evaluation';
import { configOf, ingressRules, onlyResource, policyStatementsOf, templateOf, userDataOf } from './support';

const STACK = 'dasklab-Cluster';
const CLUSTER = { cluster: { workers: 3 } };

/** Logical ids each resource depends on: DependsOn, Ref and Fn::GetAtt. */
function dependencyGraph(template: Template): Map<string, Set<string>> {
  const resources = template.toJSON().Resources as Record<string, any>;
  const graph = new Map<string, Set<string>>();
  const collect = (node: unknown, into: Set<string>) => {
    if (Array.isArray(node)) node.forEach((n) => collect(n, into));
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Ref' && typeof value === 'string' && value in resources) into.add(value);
        else if (key === 'Fn::GetAtt' && Array.isArray(value)) into.add(value[0]);
        else collect(value, into);
      }
    }
  };
  for (const [id, resource] of Object.entries(resources)) {
    const deps = new Set<string>([resource.DependsOn ?? []].flat());
    collect(resource.Properties ?? {}, deps);
    graph.set(id, deps);
  }
  return graph;
}

function reaches(graph: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(graph.get(id) ?? []));
  }
  return false;
}

/** The machines' logical ids: instances and spot machines. */
function instanceIds(template: Template): { scheduler: string; workers: string[] } {
  const instances = { ...template.findResources('AWS::EC2::Instance'), ...template.findResources(SPOT_MACHINE_RESOURCE_TYPE) };
  const roleOf = (r: any) => r.Properties.Tags.find((t: any) => t.Key === 'dasklab:role').Value;
  const ids = Object.keys(instances);
  return {
    scheduler: ids.find((id) => roleOf(instances[id]) === 'scheduler')!,
    workers: ids.filter((id) => roleOf(instances[id]) === 'worker'),
  };
}

const userDataText = userDataOf;

describe('cluster stack', () => {
  test('a cluster section gives <name>-Cluster with one scheduler and `workers` workers', () => {
    // WHEN
    const template = templateOf(STACK, CLUSTER);
    const { scheduler, workers } = instanceIds(template);
    // THEN
    expect(scheduler).toBeDefined();
    expect(workers).toHaveLength(3);
    template.resourceCountIs('AWS::CloudFormation::WaitCondition', 4);
    // AND two roles, each with its instance profile and launch template: the scheduler's, which
    // writes the certificates, and the workers'
    template.resourceCountIs('AWS::IAM::InstanceProfile', 2);
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 2);
  });

  test('no worker depends on the scheduler: every machine is created at once', () => {
    // GIVEN the dependency graph of the template
    const template = templateOf(STACK, CLUSTER);
    const graph = dependencyGraph(template);
    const { scheduler, workers } = instanceIds(template);
    // THEN no path leads from any worker to the scheduler, nor back
    for (const worker of workers) {
      expect(reaches(graph, worker, scheduler)).toBe(false);
      expect(reaches(graph, scheduler, worker)).toBe(false);
    }
    // AND the check does see real paths (the wait condition follows its instance)
    const condition = Object.keys(template.findResources('AWS::CloudFormation::WaitCondition'))[0];
    expect([...graph.get(condition)!].some((id) => id.endsWith('Instance') || id.includes('Instance'))).toBe(true);
  });

  test('the scheduler has a fixed private IP that the workers know from their user data', () => {
    // WHEN
    const template = templateOf(STACK, CLUSTER);
    const resources = template.toJSON().Resources;
    const { scheduler, workers } = instanceIds(template);
    // THEN
    expect(resources[scheduler].Properties.PrivateIpAddress).toBe('10.40.0.10');
    for (const [i, worker] of workers.entries()) {
      const text = userDataText(resources[worker]);
      expect(text).toContain("DASKLAB_SCHEDULER_ADDRESS='tls://10.40.0.10:8786'");
      expect(text).toContain('dask worker ${DASK_SCHEDULER_ADDRESS} ');
      expect(text).toContain(`--name worker-${i + 1} `);
      expect(text).toContain("DASKLAB_DASK_UNIT='dask-worker'");
    }
    const schedulerText = userDataText(resources[scheduler]);
    expect(schedulerText).toContain("DASKLAB_DASK_WORKER_COUNT='3'");
    expect(schedulerText).toContain("DASKLAB_SCHEDULER_ADDRESS='tls://10.40.0.10:8786'");
    expect(schedulerText).toContain("DASKLAB_DASK_UNIT='dask-scheduler'");
  });

  test('the security groups open exactly the Dask ports between members and nothing else', () => {
    // WHEN
    const template = templateOf(STACK, CLUSTER);
    const sgs = template.findResources('AWS::EC2::SecurityGroup');
    const idOf = (description: string) => Object.keys(sgs).find((k) => sgs[k].Properties.GroupDescription === description)!;
    const member = idOf('dasklab cluster members: Dask traffic between them');
    // THEN ingress: 8786 to the scheduler, 8788-8789 to workers, both from members only
    expect(ingressRules(template)).toEqual([
      { cidr: undefined, from: 8786, to: 8786, source: { 'Fn::GetAtt': [member, 'GroupId'] } },
      { cidr: undefined, from: 8788, to: 8789, source: { 'Fn::GetAtt': [member, 'GroupId'] } },
    ]);
    // AND egress between members on the same ports
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r: any) => [
      r.Properties.GroupId,
      r.Properties.DestinationSecurityGroupId,
      r.Properties.FromPort,
      r.Properties.ToPort,
    ]);
    const ref = { 'Fn::GetAtt': [member, 'GroupId'] };
    expect(egress).toEqual([
      [ref, ref, 8786, 8786],
      [ref, ref, 8788, 8789],
    ]);
  });

  test('every security group has inline egress, so EC2 adds no allow-all egress to any of them', () => {
    // GIVEN standalone egress rules (between groups) do not remove EC2's default allow-all egress
    const template = templateOf(STACK, CLUSTER);
    // THEN every group declares its egress inline: real rules, or a rule that matches nothing
    for (const [id, sg] of Object.entries(template.findResources('AWS::EC2::SecurityGroup'))) {
      expect([id, Array.isArray((sg as any).Properties.SecurityGroupEgress)]).toEqual([id, true]);
      expect((sg as any).Properties.SecurityGroupEgress).not.toContainEqual(expect.objectContaining({ IpProtocol: '-1' }));
    }
  });

  test('the dashboard opens only to access.dashboardCidrs, only on the scheduler', () => {
    // GIVEN a dashboard CIDR
    const template = templateOf(STACK, { ...CLUSTER, access: { dashboardCidrs: ['198.51.100.0/24'] } });
    // THEN exactly one 8787 rule, from that CIDR, on the scheduler's group
    const rules = ingressRules(template).filter((r) => r.from === 8787);
    expect(rules).toEqual([{ cidr: '198.51.100.0/24', from: 8787, to: 8787, source: undefined }]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'dasklab Dask scheduler',
      SecurityGroupIngress: [{ CidrIp: '198.51.100.0/24', FromPort: 8787, ToPort: 8787, IpProtocol: 'tcp', Description: 'Dask dashboard from 198.51.100.0/24' }],
    });
  });

  test('outputs: scheduler address, dashboard tunnel, client snippet, worker ids', () => {
    // WHEN
    const outputs = templateOf(STACK, CLUSTER).toJSON().Outputs;
    // THEN
    expect(outputs.SchedulerAddress.Value).toBe('tls://10.40.0.10:8786');
    expect(JSON.stringify(outputs.DashboardTunnelCommand.Value)).toContain('AWS-StartPortForwardingSession');
    expect(JSON.stringify(outputs.DashboardTunnelCommand.Value)).toContain('portNumber=8787,localPortNumber=8787');
    expect(outputs.ClientSnippet.Value).toContain('Client("tls://10.40.0.10:8786")');
    expect(outputs).toHaveProperty('WorkerInstanceIds');
    expect(outputs).toHaveProperty('SchedulerSshCommand');
  });

  test('workers spread across both subnets; the scheduler sits in the first', () => {
    const template = templateOf(STACK, CLUSTER);
    const resources = template.toJSON().Resources;
    const { scheduler, workers } = instanceIds(template);
    const subnets = [scheduler, ...workers].map((id) => resources[id].Properties.SubnetId.Ref);
    expect(subnets[0]).toMatch(/PublicSubnet1/);
    expect(new Set(subnets.slice(1)).size).toBe(2);
  });
});

describe('helpers', () => {
  test('hostInCidr', () => {
    expect(hostInCidr('10.40.0.0/20', 10)).toBe('10.40.0.10');
    expect(hostInCidr('10.40.16.0/20', 300)).toBe('10.40.17.44');
    expect(() => hostInCidr('10.40.0.0/28', 2)).toThrow(/reserved/);
    expect(() => hostInCidr('10.40.0.0/28', 15)).toThrow(/reserved or outside/);
  });

  test('workerNames', () => {
    expect(workerNames(3)).toEqual(['worker-1', 'worker-2', 'worker-3']);
  });

  test.each([1, 3, 100])('the scheduler’s bootstrap names its %d expected workers as the stack names the workers', (count) => {
    // GIVEN the cluster phase, with the count the stack renders into the scheduler's user data
    const phase = fs.readFileSync(path.join(USERDATA_DIR, 'phases', 'cluster.sh'), 'utf8');
    // WHEN bash lists the expected workers
    const listed = execFileSync('bash', ['--norc', '-euo', 'pipefail', '-c', `${phase}\nexpected_workers`], { env: { DASKLAB_DASK_WORKER_COUNT: String(count) }, encoding: 'utf8' });
    // THEN they are exactly the workers' names
    expect(listed.trim().split('\n')).toEqual(workerNames(count));
  });
});

describe('spot', () => {
  const SPOT = { cluster: { workers: 2, spot: true } };

  test('cluster.spot: each worker is a spot machine with on-demand fallback; the scheduler is an on-demand instance', () => {
    // GIVEN spot workers
    const template = templateOf(STACK, SPOT);
    const spotMachines = template.findResources(SPOT_MACHINE_RESOURCE_TYPE);
    const instances = template.findResources('AWS::EC2::Instance');
    // THEN the workers are spot machines and the scheduler the only instance
    const roleOf = (r: any) => r.Properties.Tags.find((t: any) => t.Key === 'dasklab:role')?.Value;
    expect(Object.values(spotMachines).map(roleOf)).toEqual(['worker', 'worker']);
    expect(Object.values(instances).map(roleOf)).toEqual(['scheduler']);
    // AND they carry the tag contract, like an instance would
    const worker1 = Object.values(spotMachines)[0] as any;
    expect(worker1.Properties.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'dasklab:app', Value: 'dasklab' },
        { Key: 'dasklab:role', Value: 'worker' },
        { Key: 'Name', Value: 'dasklab-worker-1' },
      ]),
    );
    // AND they launch from the workers' launch template, which has no market options:
    // the launcher asks for spot itself, and the fallback uses the template as it is
    const [launchTemplate] = Object.entries(template.findResources('AWS::EC2::LaunchTemplate')).filter(([id]) => !id.includes('Scheduler'));
    expect((launchTemplate[1] as any).Properties.LaunchTemplateData.InstanceMarketOptions).toBeUndefined();
    for (const machine of Object.values(spotMachines) as any[]) {
      expect(machine.Properties.LaunchTemplateId).toEqual({ Ref: launchTemplate[0] });
      expect(machine.Properties.InstanceType).toBe('t3.large');
      expect(machine.Properties.KeyName.Ref).toMatch(/KeyPair/);
      expect(machine.Properties.SecurityGroupIds).toHaveLength(3);
      expect(userDataText(machine)).toContain("DASKLAB_ROLE='worker'");
    }
    // AND the deploy waits for each spot worker's bootstrap
    const waited = Object.values(template.findResources('AWS::CloudFormation::WaitCondition')).flatMap((w: any) => w.DependsOn);
    for (const id of Object.keys(spotMachines)) expect(waited).toContain(id);
  });

  test('the spot launcher runs on the latest Node.js runtime with a role limited to the app', () => {
    // GIVEN spot workers
    const template = templateOf(STACK, SPOT);
    // THEN one launcher function serves every worker
    const { id: functionId, resource: fn } = onlyResource(template, 'AWS::Lambda::Function', (r) => /SpotMachineLauncher/.test(JSON.stringify(r.Properties.Role)));
    for (const machine of Object.values(template.findResources(SPOT_MACHINE_RESOURCE_TYPE)) as any[]) {
      expect(machine.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
    }
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    // AND its role launches, retags and ends only machines tagged with the app, and passes only the machines' role to EC2
    const statements = policyStatementsOf(template, fn.Properties.Role['Fn::GetAtt'][0]);
    const bySid = (sid: string) => statements.find((s: any) => s.Sid === sid);
    expect(bySid('LaunchAppMachines').Condition).toEqual({ StringEquals: { 'aws:RequestTag/dasklab:app': 'dasklab' } });
    expect(bySid('RetagAndEndAppMachines').Condition).toEqual({ StringEquals: { 'aws:ResourceTag/dasklab:app': 'dasklab' } });
    expect(bySid('InAppNetworksWithAppKeys').Condition).toEqual({ StringEquals: { 'aws:ResourceTag/dasklab:app': 'dasklab' } });
    const passRole = statements.filter((s: any) => s.Action === 'iam:PassRole');
    expect(passRole).toHaveLength(1);
    expect(passRole[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
    expect(JSON.stringify(passRole[0].Resource)).toMatch(/InstanceRole/);
    // AND nothing but DescribeInstances applies to every resource
    expect(statements.filter((s: any) => s.Resource === '*').map((s: any) => s.Action)).toEqual(['ec2:DescribeInstances']);
  });

  test('without cluster.spot nothing runs on spot and there is no launcher', () => {
    const template = templateOf(STACK, CLUSTER);
    template.resourceCountIs(SPOT_MACHINE_RESOURCE_TYPE, 0);
    const templates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
    expect(templates.filter((t: any) => t.Properties.LaunchTemplateData.InstanceMarketOptions)).toEqual([]);
    expect(JSON.stringify(template.toJSON())).not.toContain('SpotMachineLauncher');
  });

  test('spot workers are created in parallel with the scheduler too', () => {
    const template = templateOf(STACK, SPOT);
    const graph = dependencyGraph(template);
    const { scheduler, workers } = instanceIds(template);
    expect(workers).toHaveLength(2);
    for (const worker of workers) {
      expect(reaches(graph, worker, scheduler)).toBe(false);
      expect(reaches(graph, scheduler, worker)).toBe(false);
    }
  });
});

describe('tls', () => {
  test('only the scheduler may write its cluster\'s certificate parameters; workers may read them; nothing else in SSM', () => {
    // GIVEN a cluster with default settings
    const template = templateOf(STACK, CLUSTER);
    // THEN the scheduler and the workers run as different roles
    const machines = new SynthesizedApp([{ stackName: STACK, template: template.toJSON() }]).machines();
    const roleOf = (kind: string) => [...new Set(machines.filter((m) => m.machineRole === kind).map((m) => m.role.logicalId))];
    expect(roleOf('scheduler')).toHaveLength(1);
    expect(roleOf('worker')).toHaveLength(1);
    expect(roleOf('scheduler')).not.toEqual(roleOf('worker'));
    // AND each role's SSM parameter statements are the cluster's path (read and write for the scheduler, read for
    // workers) and, for both, the app's version sets
    const ssmOf = (roleId: string) => policyStatementsOf(template, roleId).filter((s: any) => JSON.stringify(s.Action).includes('ssm:') && s.Sid !== 'SessionManagerChannels');
    const read = ['ssm:GetParameter', 'ssm:GetParameters'];
    for (const [kind, sid, actions] of [['scheduler', 'WriteClusterParameters', [...read, 'ssm:PutParameter']], ['worker', 'ReadClusterParameters', read]] as const) {
      const ssm = ssmOf(roleOf(kind)[0]);
      expect(ssm.map((statement: any) => statement.Sid).sort()).toEqual(['KeepVersionSet', 'ReadVersionSets', 'ShareVersionSet', sid].sort());
      const tls = ssm.find((statement: any) => statement.Sid === sid);
      expect(tls.Action).toEqual(actions);
      expect(JSON.stringify(tls.Resource)).toContain(':parameter/dasklab/dasklab/cluster/tls/*');
      for (const statement of ssm.filter((statement: any) => statement.Sid !== sid && statement.Sid !== 'ReadVersionSets')) {
        expect(JSON.stringify(statement.Resource)).toMatch(/:parameter\/dasklab\/dasklab\/python\/[0-9a-f]{12}\/jupyter".*:parameter\/dasklab\/dasklab\/python\/[0-9a-f]{12}\/base"/);
      }
      expect(JSON.stringify(ssm.find((statement: any) => statement.Sid === 'ReadVersionSets').Resource)).toContain(':parameter/dasklab/dasklab/python/*');
    }
    // AND every machine's user data names that path, and holds no key material
    const { scheduler, workers } = instanceIds(template);
    const resources = template.toJSON().Resources;
    for (const id of [scheduler, ...workers]) {
      const text = userDataText(resources[id]);
      expect(text).toContain("DASKLAB_TLS_PARAMETER_PATH='/dasklab/dasklab/cluster/tls'");
      expect(text).toContain("DASKLAB_SCHEDULER_ADDRESS='tls://10.40.0.10:8786'");
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
  });

  test('the certificates the machines write are deleted with the stack, after every machine', () => {
    // GIVEN a cluster with default settings
    const template = templateOf(STACK, CLUSTER);
    // THEN a cleanup resource owns the path
    const { id, resource } = onlyResource(template, 'Custom::DasklabParameterPath', (r) => r.Properties.Path === '/dasklab/dasklab/cluster/tls');
    expect(resource.DeletionPolicy).toBe('Delete');
    // AND every machine depends on it, so CloudFormation deletes them first
    const graph = dependencyGraph(template);
    const { scheduler, workers } = instanceIds(template);
    for (const machine of [scheduler, ...workers]) expect(reaches(graph, machine, id)).toBe(true);
    // AND its function may list and delete under that path only
    const fnRole = template.toJSON().Resources[resource.Properties.ServiceToken['Fn::GetAtt'][0]].Properties.Role['Fn::GetAtt'][0];
    const statements = policyStatementsOf(template, fnRole);
    const cleanup = statements.find((s: any) => s.Sid === 'DeleteParametersUnderPath');
    expect(cleanup.Action).toEqual(['ssm:GetParametersByPath', 'ssm:DeleteParameters']);
    expect(cleanup.Resource.map((r: any) => JSON.stringify(r))).toEqual([
      expect.stringMatching(/:parameter\/dasklab\/dasklab\/cluster\/tls"\]\]\}$/),
      expect.stringMatching(/:parameter\/dasklab\/dasklab\/cluster\/tls\/\*"\]\]\}$/),
    ]);
    expect(statements.map((s: any) => s.Sid).sort()).toEqual(['DeleteParametersUnderPath', 'OwnLogGroup']);
  });

  test('cluster.tls false: plain tcp://, no certificate parameters, no SSM rights but the version set\'s', () => {
    const template = templateOf(STACK, { cluster: { workers: 1, tls: false } });
    expect(Object.values(template.findResources('Custom::DasklabParameterPath')).map((r: any) => r.Properties.Path)).toEqual(['/dasklab/dasklab/python']);
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('/cluster/tls');
    expect(json).not.toContain('WriteClusterParameters');
    expect(json).not.toContain('DASKLAB_TLS_PARAMETER_PATH');
    expect(template.toJSON().Outputs.SchedulerAddress.Value).toBe('tcp://10.40.0.10:8786');
  });
});

describe('the custom resources\' Lambda code', () => {
  test('is bundled by esbuild at synth: small, the handler exported, the AWS SDK left to the runtime', () => {
    // GIVEN a real synth (template tests skip bundling) of a spot cluster with TLS: the spot launcher and the
    // cleanups of the certificates and of the version sets
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-bundle-'));
    try {
      const app = new App({ outdir });
      addDasklabStacks(app, configOf({ cluster: { workers: 1, spot: true } }));
      const assembly = app.synth();
      const template = assembly.getStackByName(STACK).template;
      // THEN each function's code is an asset directory holding one index.js
      const functions = Object.values(template.Resources).filter((r: any) => r.Type === 'AWS::Lambda::Function') as any[];
      expect(functions).toHaveLength(3);
      const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${STACK}.assets.json`), 'utf8'));
      // The S3 key is the asset's hash, which names it in the asset manifest.
      const bundles = functions.map((fn) => {
        const asset = manifest.files[fn.Properties.Code.S3Key.replace(/\.zip$/, '')];
        return fs.readFileSync(path.join(outdir, asset.source.path, 'index.js'), 'utf8');
      });
      for (const code of bundles) {
        expect(code.length).toBeLessThan(20_000);
        expect(code).toMatch(/handler/);
        expect(code).toMatch(/require\("@aws-sdk\/client-(ec2|ssm)"\)/);
      }
      expect(bundles.some((code) => code.includes('RunInstancesCommand'))).toBe(true);
      expect(bundles.some((code) => code.includes('DeleteParametersCommand'))).toBe(true);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
