import { firewallsFor, nftRuleset } from './security-groups';

/**
 * The translation of a template's security groups into per-machine rules
 * (pure: no root, no containers).
 */

const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });
const sg = (props: object = {}) => ({ Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'g', ...props } });
const instance = (groups: string[], lt?: string) => ({
  Type: 'AWS::EC2::Instance',
  Properties: groups.length ? { SecurityGroupIds: groups.map(getAtt) } : lt ? { LaunchTemplate: { LaunchTemplateId: { Ref: lt } } } : {},
});
const NO_TRAFFIC = { CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 };

/** A cluster shaped like lib/cluster/cluster-security-groups.ts synthesizes it. */
const cluster = {
  Resources: {
    Fleet: sg({ SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }] }),
    Member: sg(),
    MemberToScheduler: { Type: 'AWS::EC2::SecurityGroupEgress', Properties: { GroupId: getAtt('Member'), DestinationSecurityGroupId: getAtt('Member'), IpProtocol: 'tcp', FromPort: 8786, ToPort: 8786 } },
    Scheduler: sg({ SecurityGroupEgress: [NO_TRAFFIC] }),
    SchedulerIn: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: { Ref: 'Scheduler' }, SourceSecurityGroupId: getAtt('Member'), IpProtocol: 'tcp', FromPort: 8786, ToPort: 8786 } },
    Worker: sg({ SecurityGroupEgress: [NO_TRAFFIC], SecurityGroupIngress: [{ CidrIp: '10.0.0.0/8', IpProtocol: '6', FromPort: 8788, ToPort: 8789 }] }),
    Lonely: sg(),
    S: instance(['Fleet', 'Member', 'Scheduler']),
    W: instance(['Fleet', 'Member', 'Worker']),
    Other: instance(['Lonely']),
    LT: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { SecurityGroupIds: [getAtt('Worker')] } } },
    ViaLt: instance([], 'LT'),
    Bare: instance([]),
  },
};

const machines = [
  { stack: 'c', logicalId: 'S', ip: '10.40.0.10' },
  { stack: 'c', logicalId: 'W', ip: '10.40.0.100' },
  { stack: 'c', logicalId: 'Other', ip: '10.40.0.101' },
  { stack: 'c', logicalId: 'ViaLt', ip: '10.40.0.102' },
  { stack: 'c', logicalId: 'Bare', ip: '10.40.0.103' },
];

describe('security groups -> nftables', () => {
  const fws = Object.fromEntries(firewallsFor(new Map([['c', cluster]]), machines).map((f) => [f.logicalId, f]));
  const brief = (rules: { protocol: string; from: number; to: number; cidrs: string[] }[]) =>
    rules.map((r) => `${r.protocol} ${r.from}-${r.to} ${r.cidrs.join(',')}`);

  test('ingress: the union of the groups, a source group stands for its members', () => {
    expect(brief(fws.S.ingress)).toEqual(['tcp 8786-8786 10.40.0.10/32,10.40.0.100/32']);
    expect(brief(fws.W.ingress)).toEqual(['tcp 8788-8789 10.0.0.0/8']);
    expect(fws.Other.ingress).toEqual([]);
  });

  test('egress: inline rules replace the default; standalone rules alone keep AWS\'s allow-all', () => {
    // Member has only a standalone egress rule, so EC2 keeps its allow-all
    // egress (which is why the product gives such groups an inline rule).
    expect(brief(fws.S.egress)).toEqual([
      'tcp 443-443 0.0.0.0/0',
      'tcp 8786-8786 10.40.0.10/32,10.40.0.100/32',
      'all -1--1 0.0.0.0/0',
      'icmp 252-86 255.255.255.255/32',
    ]);
    expect(brief(fws.Other.egress)).toEqual(['all -1--1 0.0.0.0/0']);
  });

  test('groups from the launch template; none at all: the VPC default group', () => {
    expect(fws.ViaLt.groups).toEqual(['c/Worker']);
    expect(fws.Bare.groups).toEqual(['(the VPC default group)']);
    expect(brief(fws.Bare.ingress)).toEqual(['all -1--1 10.40.0.103/32']);
  });

  test('the ruleset: stateful, policy drop, service addresses exempt', () => {
    const nft = nftRuleset(fws.S, ['10.213.0.1', '169.254.169.254']);
    expect(nft).toContain('policy drop;');
    expect(nft).toContain('ct state established,related accept');
    expect(nft).toContain('ip saddr { 10.213.0.1, 169.254.169.254 } accept');
    expect(nft).toContain('ip saddr { 10.40.0.10/32, 10.40.0.100/32 } tcp dport 8786 accept');
    expect(nft).toContain('ip daddr { 0.0.0.0/0 } tcp dport 443 accept');
    expect(nft).toContain('meta l4proto icmp icmp type 252 icmp code 86 accept');
  });

  test('an unresolvable group reference fails loudly', () => {
    const bad = { Resources: { X: instance(['Nope']) } };
    expect(() => firewallsFor(new Map([['c', bad]]), [{ stack: 'c', logicalId: 'X', ip: '10.0.0.1' }])).toThrow(/cannot resolve the security group/);
  });
});
