/**
 * The machines' and the cluster's security groups, built directly in a small
 * stack (no app, no VPC of our own): every rule exactly, with its port, peer
 * and description, the egress each group has and has not, the world-open
 * refusal and warning, and the cdk-nag acknowledgements that go with them.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';
import { ClusterSecurityGroups, denyDefaultEgress } from '../../lib/cluster/cluster-security-groups';
import { MachineSecurityGroup, MachineSecurityGroupProps, peerOf } from '../../lib/machine/machine-security-group';

const VPC_ID = 'vpc-0123456789abcdef0';

/** A stack with an imported VPC to put security groups in. */
function vpcStack(): { stack: Stack; vpc: ec2.IVpc } {
  const stack = new Stack(new App(), 'Groups', { env: { account: '111122223333', region: 'eu-west-1' } });
  return { stack, vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: VPC_ID, availabilityZones: ['eu-west-1a'] }) };
}

/** A tcp rule to or from a CIDR, as CloudFormation gets it. */
function tcp(port: number, cidr: string, description: string, to = port): Record<string, unknown> {
  return { [cidr.includes(':') ? 'CidrIpv6' : 'CidrIp']: cidr, Description: description, FromPort: port, IpProtocol: 'tcp', ToPort: to };
}

const HTTPS_OUT = tcp(443, '0.0.0.0/0', 'HTTPS: pip, SSM, CloudFormation');
const HTTP_OUT = tcp(80, '0.0.0.0/0', 'HTTP: the Ubuntu archive');
const PROXY_OUT = (port: number) => tcp(port, '0.0.0.0/0', 'HTTP(S) proxy: apt, pip, AWS APIs');

/** The rule-free egress CDK writes for a group without outbound rules. */
const CDK_NO_EGRESS = { CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 };
/** denyDefaultEgress's rule. */
const DASKLAB_NO_EGRESS = { CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86, Description: 'No egress but the rules of this group' };

/** The cdk-nag rules acknowledged on a construct, by id. */
function acknowledgedRules(scope: IConstruct): string[] {
  return scope.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.keys(m.data as object));
}

/** The machines' group alone in a stack: its template properties and the group construct. */
function machineGroup(props: Omit<MachineSecurityGroupProps, 'vpc'>): { properties: any; group: MachineSecurityGroup; stack: Stack } {
  const { stack, vpc } = vpcStack();
  const group = new MachineSecurityGroup(stack, 'Machines', { vpc, ...props });
  const groups = Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup')) as any[];
  expect(groups).toHaveLength(1);
  return { properties: groups[0].Properties, group, stack };
}

describe('the machines\' security group', () => {
  test('without SSH CIDRs: no ingress at all, egress HTTPS and HTTP only, the default description', () => {
    // GIVEN no sshCidrs and no proxy WHEN the group is built
    const { properties, group } = machineGroup({});
    // THEN it has exactly these properties: no ingress, no all-traffic egress
    expect(properties).toEqual({ GroupDescription: 'dasklab machines', SecurityGroupEgress: [HTTPS_OUT, HTTP_OUT], VpcId: VPC_ID });
    // AND no world-open acknowledgement
    expect(acknowledgedRules(group.securityGroup)).toEqual([]);
    // AND no standalone rules
    const template = Template.fromStack(Stack.of(group));
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  test('SSH on port 22 from each CIDR, IPv4 and IPv6, described by the CIDR; the given description', () => {
    const { properties } = machineGroup({ sshCidrs: ['203.0.113.0/24', '2001:db8::/48'], description: 'the course machines' });
    expect(properties).toEqual({
      GroupDescription: 'the course machines',
      SecurityGroupIngress: [tcp(22, '203.0.113.0/24', 'SSH from 203.0.113.0/24'), tcp(22, '2001:db8::/48', 'SSH from 2001:db8::/48')],
      SecurityGroupEgress: [HTTPS_OUT, HTTP_OUT],
      VpcId: VPC_ID,
    });
  });

  test('a proxy on its own port gets one more egress rule, to that port', () => {
    const { properties } = machineGroup({ proxyPort: 3128 });
    expect(properties.SecurityGroupEgress).toEqual([HTTPS_OUT, HTTP_OUT, PROXY_OUT(3128)]);
  });

  test.each([80, 443])('a proxy on port %d adds no rule: HTTP and HTTPS are open already', (port) => {
    const { properties } = machineGroup({ proxyPort: port });
    expect(properties.SecurityGroupEgress).toEqual([HTTPS_OUT, HTTP_OUT]);
  });

  test('an SSH list above the world-open line is refused, naming the setting, the port and the extent', () => {
    const { stack, vpc } = vpcStack();
    expect(() => new MachineSecurityGroup(stack, 'Machines', { vpc, sshCidrs: ['0.0.0.0/1', '128.0.0.0/1'] })).toThrow(
      /^access\.sshCidrs \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1\) opens SSH \(port 22\) to .+; add "sshCidrs" to access\.allowWorldOpen if that is intended$/,
    );
    // AND when told explicitly that it is not acknowledged, the same
    expect(() => new MachineSecurityGroup(stack, 'Machines2', { vpc, sshCidrs: ['0.0.0.0/0'], sshWorldOpenAcknowledged: false })).toThrow(
      /^access\.sshCidrs \(0\.0\.0\.0\/0\) opens SSH \(port 22\)/,
    );
  });

  test('acknowledged, a world-open SSH list builds its rule, warns, and acknowledges the two nag findings', () => {
    const { properties, group, stack } = machineGroup({ sshCidrs: ['0.0.0.0/0'], sshWorldOpenAcknowledged: true });
    expect(properties.SecurityGroupIngress).toEqual([tcp(22, '0.0.0.0/0', 'SSH from 0.0.0.0/0')]);
    Annotations.fromStack(stack).hasWarning(
      '/Groups/Machines/SecurityGroup',
      Match.stringLikeRegexp('^SSH \\(port 22\\) is open to .+ \\(0\\.0\\.0\\.0/0\\), as access\\.allowWorldOpen allows for access\\.sshCidrs'),
    );
    expect(acknowledgedRules(group.securityGroup)).toEqual(['AwsSolutions::AwsSolutions-EC23', 'CloudFormation-Validate::W2508']);
  });
});

describe('peerOf', () => {
  test('a CIDR with a colon is an IPv6 peer, any other an IPv4 peer', () => {
    expect(peerOf('2001:db8::/32').toIngressRuleConfig()).toEqual({ cidrIpv6: '2001:db8::/32' });
    expect(peerOf('198.51.100.0/24').toIngressRuleConfig()).toEqual({ cidrIp: '198.51.100.0/24' });
  });
});

describe('the cluster\'s security groups', () => {
  /** The cluster's groups alone in a stack, and the template. */
  function cluster(props: { dashboardCidrs?: string[]; dashboardWorldOpenAcknowledged?: boolean } = {}) {
    const { stack, vpc } = vpcStack();
    const groups = new ClusterSecurityGroups(stack, 'Cluster', { vpc, ...props });
    const template = Template.fromStack(stack);
    const id = (g: ec2.SecurityGroup) => stack.getLogicalId(g.node.defaultChild as ec2.CfnSecurityGroup);
    const groupId = (g: ec2.SecurityGroup) => ({ 'Fn::GetAtt': [id(g), 'GroupId'] });
    const properties = (g: ec2.SecurityGroup) => template.toJSON().Resources[id(g)].Properties;
    return { stack, groups, template, groupId, properties };
  }

  test('three groups, described, none with egress but the members\' own rules', () => {
    const { groups, properties } = cluster();
    expect(properties(groups.member)).toEqual({
      GroupDescription: 'dasklab cluster members: Dask traffic between them',
      SecurityGroupEgress: [DASKLAB_NO_EGRESS],
      VpcId: VPC_ID,
    });
    expect(properties(groups.scheduler)).toEqual({ GroupDescription: 'dasklab Dask scheduler', SecurityGroupEgress: [CDK_NO_EGRESS], VpcId: VPC_ID });
    expect(properties(groups.worker)).toEqual({ GroupDescription: 'dasklab Dask workers', SecurityGroupEgress: [CDK_NO_EGRESS], VpcId: VPC_ID });
    expect(acknowledgedRules(groups.scheduler)).toEqual([]);
  });

  test('members send to members on the scheduler port and the worker and nanny ports, nothing else', () => {
    const { groups, template, groupId } = cluster();
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).map((r: any) => r.Properties);
    expect(egress).toEqual([
      { Description: 'to the Dask scheduler', DestinationSecurityGroupId: groupId(groups.member), FromPort: 8786, GroupId: groupId(groups.member), IpProtocol: 'tcp', ToPort: 8786 },
      { Description: 'to Dask workers and nannies', DestinationSecurityGroupId: groupId(groups.member), FromPort: 8788, GroupId: groupId(groups.member), IpProtocol: 'tcp', ToPort: 8789 },
    ]);
  });

  test('the scheduler takes its port from members, the workers their two ports from members', () => {
    const { groups, template, groupId } = cluster();
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r: any) => r.Properties);
    expect(ingress).toEqual([
      { Description: 'Dask scheduler, from cluster members', FromPort: 8786, GroupId: groupId(groups.scheduler), IpProtocol: 'tcp', SourceSecurityGroupId: groupId(groups.member), ToPort: 8786 },
      { Description: 'Dask worker and nanny, from cluster members', FromPort: 8788, GroupId: groupId(groups.worker), IpProtocol: 'tcp', SourceSecurityGroupId: groupId(groups.member), ToPort: 8789 },
    ]);
  });

  test('the dashboard, port 8787, from each dashboard CIDR, on the scheduler only', () => {
    const { groups, properties } = cluster({ dashboardCidrs: ['198.51.100.0/24', '2001:db8::/32'] });
    expect(properties(groups.scheduler).SecurityGroupIngress).toEqual([
      tcp(8787, '198.51.100.0/24', 'Dask dashboard from 198.51.100.0/24'),
      tcp(8787, '2001:db8::/32', 'Dask dashboard from 2001:db8::/32'),
    ]);
    expect(properties(groups.worker).SecurityGroupIngress).toBeUndefined();
    expect(properties(groups.member).SecurityGroupIngress).toBeUndefined();
  });

  test('a dashboard list above the world-open line is refused, naming the setting, the port and the extent', () => {
    const { stack, vpc } = vpcStack();
    expect(() => new ClusterSecurityGroups(stack, 'Cluster', { vpc, dashboardCidrs: ['::/0'] })).toThrow(
      /^access\.dashboardCidrs \(::\/0\) opens the Dask dashboard \(port 8787\) to .+; add "dashboardCidrs" to access\.allowWorldOpen if that is intended$/,
    );
    expect(() => new ClusterSecurityGroups(stack, 'Cluster2', { vpc, dashboardCidrs: ['::/0'], dashboardWorldOpenAcknowledged: false })).toThrow(
      /^access\.dashboardCidrs/,
    );
  });

  test('acknowledged, a world-open dashboard builds its rule, warns on the scheduler, and acknowledges the nag findings there', () => {
    const { stack, groups, properties } = cluster({ dashboardCidrs: ['0.0.0.0/0'], dashboardWorldOpenAcknowledged: true });
    expect(properties(groups.scheduler).SecurityGroupIngress).toEqual([tcp(8787, '0.0.0.0/0', 'Dask dashboard from 0.0.0.0/0')]);
    Annotations.fromStack(stack).hasWarning(
      '/Groups/Cluster/Scheduler',
      Match.stringLikeRegexp('^the Dask dashboard \\(port 8787\\) is open to .+ \\(0\\.0\\.0\\.0/0\\), as access\\.allowWorldOpen allows for access\\.dashboardCidrs'),
    );
    expect(acknowledgedRules(groups.scheduler)).toEqual(['AwsSolutions::AwsSolutions-EC23', 'CloudFormation-Validate::W2508']);
    expect(acknowledgedRules(groups.member)).toEqual([]);
  });
});

describe('denyDefaultEgress', () => {
  test('replaces the group\'s inline egress by one rule that matches nothing', () => {
    const { stack, vpc } = vpcStack();
    const group = new ec2.SecurityGroup(stack, 'Group', { vpc, allowAllOutbound: true, description: 'g' });
    denyDefaultEgress(group);
    const resource = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(group.node.defaultChild as ec2.CfnSecurityGroup)];
    expect(resource.Properties.SecurityGroupEgress).toEqual([DASKLAB_NO_EGRESS]);
  });
});
