import { CancelSpotInstanceRequestsCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Template } from 'aws-cdk-lib/assertions';
import { handleSpotMachine } from '../../lib/handlers/spot-machine';
import { DasklabConfigInput } from '../../lib/config/schema';
import { onlyResource, synthApp, templateOf, userDataOf } from './support';
import { PRIVATE_NETWORK, PUBLIC_NETWORK } from './network-fixtures';
const [SUBNET_A, SUBNET_B] = PRIVATE_NETWORK.subnets.map((s) => s.id);

/** Every EC2 instance of a template, with its properties. */
function instancesOf(template: Template): any[] {
  return Object.values(template.findResources('AWS::EC2::Instance')).map((r: any) => r.Properties);
}

/** What dasklab would create of a network: none of these may be in a stack that uses an existing VPC. */
const NETWORK_TYPES = [
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::InternetGateway',
  'AWS::EC2::VPCGatewayAttachment',
  'AWS::EC2::RouteTable',
  'AWS::EC2::Route',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::NatGateway',
  'AWS::EC2::FlowLog',
];

function expectNoNetworkOfItsOwn(input: DasklabConfigInput): void {
  for (const [name, stack] of synthApp(input)) {
    const template = Template.fromStack(stack);
    for (const type of NETWORK_TYPES) {
      expect([name, type, Object.keys(template.findResources(type)).length]).toEqual([name, type, 0]);
    }
  }
}

describe('a standalone machine in an existing VPC with private subnets', () => {
  const input: DasklabConfigInput = { network: PRIVATE_NETWORK };

  test('GIVEN private subnets WHEN synthesized THEN the stack creates no VPC, subnet, gateway, route or flow log: cdk destroy removes only what dasklab made', () => {
    expectNoNetworkOfItsOwn(input);
  });

  test('THEN the machine goes into the first subnet with no public IP, and its security group into the VPC', () => {
    // WHEN
    const template = templateOf('dasklab-Machine', input);
    // THEN
    const [instance] = instancesOf(template);
    expect(instance.SubnetId).toBeUndefined();
    expect(instance.SecurityGroupIds).toBeUndefined();
    expect(instance.NetworkInterfaces).toEqual([
      expect.objectContaining({ DeviceIndex: '0', SubnetId: SUBNET_A, AssociatePublicIpAddress: false, GroupSet: [expect.anything()] }),
    ]);
    template.allResourcesProperties('AWS::EC2::SecurityGroup', { VpcId: PRIVATE_NETWORK.vpcId });
  });

  test('THEN no output or resource reads a public IP, which CloudFormation fails on for a machine without one', () => {
    // WHEN
    const template = templateOf('dasklab-Machine', input).toJSON();
    // THEN
    expect(JSON.stringify(template)).not.toMatch(/"PublicIp"\]|"PublicDnsName"\]/);
    expect(Object.keys(template.Outputs)).not.toContain('PublicIp');
    expect(Object.keys(template.Outputs)).toContain('PrivateIp');
  });

  test('GIVEN SSH open to the corporate network THEN the SSH command goes to the private IP', () => {
    const template = templateOf('dasklab-Machine', { ...input, access: { sshCidrs: ['10.0.0.0/8'] } }).toJSON();
    expect(JSON.stringify(template.Outputs.SshCommand.Value)).toContain('PrivateIp');
  });
});

describe('a standalone machine in public subnets of an existing VPC', () => {
  test('GIVEN public subnets THEN the machine asks for a public IP (whatever the subnet maps on launch) and its outputs name it', () => {
    const template = templateOf('dasklab-Machine', { network: PUBLIC_NETWORK });
    expect(instancesOf(template)[0].NetworkInterfaces[0].AssociatePublicIpAddress).toBe(true);
    expect(Object.keys(template.toJSON().Outputs)).toContain('PublicIp');
  });

  test('GIVEN public subnets and publicIp false THEN the machine has none', () => {
    const template = templateOf('dasklab-Machine', { network: { ...PUBLIC_NETWORK, publicIp: false } });
    expect(instancesOf(template)[0].NetworkInterfaces[0].AssociatePublicIpAddress).toBe(false);
  });
});

describe('a cluster in an existing VPC', () => {
  test('GIVEN no scheduler address THEN the scheduler takes the 10th address of the first subnet and workers spread over the subnets', () => {
    // WHEN
    const template = templateOf('dasklab-Cluster', { cluster: { workers: 3 }, network: PRIVATE_NETWORK });
    // THEN
    const interfaces = instancesOf(template).map((i) => i.NetworkInterfaces[0]);
    const scheduler = interfaces.find((n) => n.PrivateIpAddress !== undefined);
    expect(scheduler).toMatchObject({ SubnetId: SUBNET_A, PrivateIpAddress: '10.20.1.10', AssociatePublicIpAddress: false });
    expect(interfaces.map((n) => n.SubnetId).sort()).toEqual([SUBNET_A, SUBNET_A, SUBNET_B, SUBNET_B]);
  });

  test('GIVEN a scheduler address in the second subnet THEN the scheduler goes there, with that address, and the workers are told it', () => {
    // WHEN
    const template = templateOf('dasklab-Cluster', { cluster: { workers: 1, tls: false }, network: { ...PRIVATE_NETWORK, schedulerAddress: '10.20.2.50' } });
    // THEN
    const scheduler = instancesOf(template).map((i) => i.NetworkInterfaces[0]).find((n) => n.PrivateIpAddress !== undefined);
    expect(scheduler).toMatchObject({ SubnetId: SUBNET_B, PrivateIpAddress: '10.20.2.50' });
    expect(template.toJSON().Outputs.SchedulerAddress.Value).toBe('tcp://10.20.2.50:8786');
  });

  test('GIVEN spot workers in private subnets THEN each asks the launcher for no public IP', () => {
    const template = templateOf('dasklab-Cluster', { cluster: { workers: 2, spot: true }, network: PRIVATE_NETWORK });
    const spot = Object.values(template.findResources('Custom::DasklabSpotMachine')).map((r: any) => r.Properties);
    expect(spot).toHaveLength(2);
    for (const properties of spot) expect(properties.AssociatePublicIpAddress).toBe('false');
    expectNoNetworkOfItsOwn({ cluster: { workers: 2, spot: true }, network: PRIVATE_NETWORK });
  });
});

describe('the spot launcher in a private subnet', () => {
  const ec2Mock = mockClient(EC2Client);
  beforeEach(() => {
    ec2Mock.reset();
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  test('GIVEN AssociatePublicIpAddress "false" WHEN it launches THEN the network interface asks for no public IP, in the subnet with the groups', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', State: { Name: 'running' }, PrivateIpAddress: '10.20.1.5' }] }] });
    ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
    await handleSpotMachine(
      new EC2Client({ region: 'eu-central-1' }),
      {
        RequestType: 'Create',
        LogicalResourceId: 'Worker1',
        ResourceProperties: {
          LaunchTemplateId: 'lt-0123456789abcdef0',
          LaunchTemplateVersion: '1',
          InstanceType: 'm7g.large',
          SubnetId: SUBNET_A,
          SecurityGroupIds: ['sg-1', 'sg-2'],
          UserData: 'IyEvYmluL2Jhc2g=',
          AssociatePublicIpAddress: 'false',
        },
      } as any,
      { getRemainingTimeInMillis: () => 600_000 },
    );
    const launch = ec2Mock.commandCalls(RunInstancesCommand)[0].args[0].input;
    expect(launch.SubnetId).toBeUndefined();
    expect(launch.SecurityGroupIds).toBeUndefined();
    expect(launch.NetworkInterfaces).toEqual([{ DeviceIndex: 0, SubnetId: SUBNET_A, Groups: ['sg-1', 'sg-2'], AssociatePublicIpAddress: false }]);
  });
});

describe('a lab in an existing VPC', () => {
  const input: DasklabConfigInput = { lab: { roster: ['alice', 'bob', 'carol'] }, network: PRIVATE_NETWORK };

  test('GIVEN a lab WHEN synthesized THEN no stack makes a network, and the students’ machines go to the given subnets without public IPs', () => {
    expectNoNetworkOfItsOwn(input);
    const subnets = new Set<string>();
    for (const [name, stack] of synthApp(input)) {
      if (name.endsWith('-Shared')) continue;
      for (const instance of instancesOf(Template.fromStack(stack))) {
        expect(instance.NetworkInterfaces[0].AssociatePublicIpAddress).toBe(false);
        subnets.add(instance.NetworkInterfaces[0].SubnetId);
      }
    }
    expect([...subnets].every((s) => [SUBNET_A, SUBNET_B].includes(s))).toBe(true);
  });

  test('THEN the shared stack exports only what it makes: the security group and the instance profile', () => {
    const shared = templateOf('dasklab-Lab-Shared', input).toJSON();
    const exported = Object.values(shared.Outputs as Record<string, any>).filter((o) => o.Export).map((o) => JSON.stringify(o.Value));
    expect(exported).toHaveLength(2);
    expect(exported.some((v) => v.includes('SecurityGroup'))).toBe(true);
    expect(exported.some((v) => v.includes('InstanceProfile'))).toBe(true);
  });
});

describe('the bootstrap of a machine in an existing VPC', () => {
  const userDataOfMachine = (input: DasklabConfigInput) => userDataOf(onlyResource(templateOf('dasklab-Machine', input), 'AWS::EC2::Instance').resource);

  test('GIVEN a proxy THEN the network phase runs first, with the proxy, and IMDS stays direct', () => {
    const userData = userDataOfMachine({ network: { ...PRIVATE_NETWORK, proxy: 'http://proxy.corp.example:3128' } });
    expect(userData).toMatch(/DASKLAB_PHASES=\('network' 'apt' /);
    expect(userData).toContain("DASKLAB_PROXY_URL='http://proxy.corp.example:3128'");
    expect(userData).toMatch(/DASKLAB_NO_PROXY='[^']*169\.254\.169\.254/);
    expect(userData).toContain('phase_network()');
  });

  test('GIVEN an existing VPC without a proxy THEN the network phase still checks the way out', () => {
    const userData = userDataOfMachine({ network: PRIVATE_NETWORK });
    expect(userData).toMatch(/DASKLAB_PHASES=\('network' 'apt' /);
    expect(userData).toContain("DASKLAB_PROXY_URL=''");
  });

  test('GIVEN no network THEN the user data has no network phase (machines of a VPC of its own are not restarted by this)', () => {
    const userData = userDataOfMachine({});
    expect(userData).not.toContain('phase_network');
    expect(userData).not.toContain('DASKLAB_PROXY_URL');
  });

  test('GIVEN a proxy on port 3128 THEN the machines may reach that port, and no other new one', () => {
    const template = templateOf('dasklab-Machine', { network: { ...PRIVATE_NETWORK, proxy: 'http://proxy.corp.example:3128' } });
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap((sg: any) => sg.Properties.SecurityGroupEgress ?? []);
    expect(egress.map((r: any) => r.FromPort).sort()).toEqual([3128, 443, 80]);
  });
});
