import * as fs from 'fs';
import * as path from 'path';

/**
 * The template's security groups, enforced between the twin's machines.
 *
 * Each machine gets the union of its groups' rules, as EC2 applies them to an
 * instance's network interface: egress rules checked where a packet leaves,
 * ingress rules where it arrives, stateful (replies to an allowed connection
 * pass). They are installed as an nftables table in the machine's own network
 * namespace before it boots: `inet dasklab_sg` with an `output` and an `input`
 * chain, policy drop.
 *
 * What a rule can name:
 * - CidrIp: any IPv4 address in it;
 * - SourceSecurityGroupId / DestinationSecurityGroupId: the private IPs of the
 *   booted machines in that group (`Fn::GetAtt [G, GroupId]` or `Ref G`, also
 *   through `Fn::ImportValue` of another stack of the app); a group the twin
 *   cannot resolve (a literal sg-... id) has no members;
 * - CidrIpv6 and prefix lists never match (the twin has no IPv6 VPC and no
 *   prefix lists).
 *
 * AWS adds an allow-all egress rule to a group created without inline egress
 * rules (the SecurityGroupEgress property); standalone
 * AWS::EC2::SecurityGroupEgress resources add rules next to it but do not
 * remove it. An instance without groups is in the VPC's
 * default group (all traffic from its members, all egress).
 *
 * The twin's own services (HUB_IP, IMDS) are exempt in both directions: on EC2
 * the metadata service is link-local and never filtered, and the apt/pip/
 * signal/EC2 endpoints stand for AWS-side services a machine reaches over
 * 80/443, which the twin serves on other ports (deviations.ts).
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One rule, normalized: protocol name or number ('all'), port range or ICMP type/code, and the peer. */
export interface SgRule {
  /** 'all', 'tcp', 'udp', 'icmp' or an IP protocol number as a string. */
  protocol: string;
  /** tcp/udp: first port; icmp: type (-1 any). */
  from: number;
  /** tcp/udp: last port; icmp: code (-1 any). */
  to: number;
  /** IPv4 CIDRs the peer address must be in (a group's members as /32). */
  cidrs: string[];
  /** Where the rule came from, for nft comments and messages. */
  origin: string;
}

/** What one machine may send and receive. */
export interface MachineFirewall {
  logicalId: string;
  ip: string;
  /** Its groups, as stack/logicalId (or the literal id). */
  groups: string[];
  ingress: SgRule[];
  egress: SgRule[];
}

/** A booted machine, as the translation needs it. */
export interface FirewallMachine {
  stack: string;
  logicalId: string;
  /** Its private IP, the address group membership stands for. */
  ip: string;
}

const DEFAULT_GROUP = '(the VPC default group)';
const asList = (v: Json): Json[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** Reads every `*.template.json` of a cdk.out directory: stack name -> template. */
export function readTemplates(dir: string): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith('.template.json')) out.set(f.slice(0, -'.template.json'.length), JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  }
  return out;
}

/** Translates the security groups of the given templates into one firewall per machine. */
export function firewallsFor(templates: Map<string, Json>, machines: FirewallMachine[]): MachineFirewall[] {
  const exportsByName = new Map<string, { stack: string; value: Json }>();
  for (const [stack, t] of templates) {
    for (const o of Object.values<Json>(t.Outputs ?? {})) {
      if (typeof o.Export?.Name === 'string') exportsByName.set(o.Export.Name, { stack, value: o.Value });
    }
  }
  const resources = (stack: string): Record<string, Json> => templates.get(stack)?.Resources ?? {};

  /** A group reference -> 'stack/logicalId' of an AWS::EC2::SecurityGroup, or the literal id. */
  const groupKey = (stack: string, node: Json): string => {
    if (typeof node === 'string') return node;
    if (node && typeof node === 'object' && 'Fn::ImportValue' in node) {
      const exp = exportsByName.get(node['Fn::ImportValue']);
      if (!exp) throw new Error(`security group ${JSON.stringify(node)}: no stack exports it`);
      return groupKey(exp.stack, exp.value);
    }
    const getAtt = node?.['Fn::GetAtt'];
    const id = node?.Ref ?? (Array.isArray(getAtt) && getAtt[1] === 'GroupId' ? getAtt[0] : undefined);
    if (typeof id === 'string' && resources(stack)[id]?.Type === 'AWS::EC2::SecurityGroup') return `${stack}/${id}`;
    throw new Error(`the twin cannot resolve the security group ${JSON.stringify(node)} in ${stack}`);
  };

  // Group -> ingress/egress rules, with peers still unresolved.
  interface RawRule { props: Json; peerGroup?: string; origin: string }
  const groups = new Map<string, { ingress: RawRule[]; egress: RawRule[]; inlineEgress: boolean }>();
  const group = (key: string) => {
    if (!groups.has(key)) groups.set(key, { ingress: [], egress: [], inlineEgress: false });
    return groups.get(key)!;
  };
  group(DEFAULT_GROUP).ingress.push({ props: { IpProtocol: '-1' }, peerGroup: DEFAULT_GROUP, origin: 'default group' });
  group(DEFAULT_GROUP).egress.push({ props: { IpProtocol: '-1', CidrIp: '0.0.0.0/0' }, origin: 'default group' });
  for (const [stack] of templates) {
    for (const [id, r] of Object.entries(resources(stack))) {
      const p = r.Properties ?? {};
      if (r.Type === 'AWS::EC2::SecurityGroup') {
        const g = group(`${stack}/${id}`);
        for (const rule of asList(p.SecurityGroupIngress)) {
          g.ingress.push({ props: rule, peerGroup: rule.SourceSecurityGroupId && groupKey(stack, rule.SourceSecurityGroupId), origin: id });
        }
        for (const rule of asList(p.SecurityGroupEgress)) {
          g.egress.push({ props: rule, peerGroup: rule.DestinationSecurityGroupId && groupKey(stack, rule.DestinationSecurityGroupId), origin: id });
        }
        g.inlineEgress = p.SecurityGroupEgress !== undefined;
      } else if (r.Type === 'AWS::EC2::SecurityGroupIngress') {
        group(groupKey(stack, p.GroupId)).ingress.push({
          props: p,
          peerGroup: p.SourceSecurityGroupId && groupKey(stack, p.SourceSecurityGroupId),
          origin: id,
        });
      } else if (r.Type === 'AWS::EC2::SecurityGroupEgress') {
        group(groupKey(stack, p.GroupId)).egress.push({
          props: p,
          peerGroup: p.DestinationSecurityGroupId && groupKey(stack, p.DestinationSecurityGroupId),
          origin: id,
        });
      }
    }
  }
  // AWS's default egress for a group created without inline egress rules.
  for (const [key, g] of groups) {
    if (key.includes('/') && !g.inlineEgress) {
      g.egress.push({ props: { IpProtocol: '-1', CidrIp: '0.0.0.0/0' }, origin: `${key.split('/')[1]} (AWS default egress)` });
    }
  }

  const membership = machines.map((m) => ({ m, groups: groupsOf(m, templates, groupKey) }));
  const members = (key: string): string[] => membership.filter((x) => x.groups.includes(key)).map((x) => `${x.m.ip}/32`);
  const normalize = (raw: RawRule): SgRule | undefined => {
    const p = raw.props;
    const cidrs = raw.peerGroup ? members(raw.peerGroup) : typeof p.CidrIp === 'string' ? [p.CidrIp] : [];
    if (cidrs.length === 0) return undefined;
    let protocol = String(p.IpProtocol ?? '-1').toLowerCase();
    protocol = ({ '-1': 'all', '6': 'tcp', '17': 'udp', '1': 'icmp' } as Record<string, string>)[protocol] ?? protocol;
    const num = (v: Json, d: number) => (v === undefined || v === null ? d : Number(v));
    let from = num(p.FromPort, -1);
    let to = num(p.ToPort, -1);
    if (protocol === 'tcp' || protocol === 'udp') {
      if (from === -1) [from, to] = [0, 65535];
    }
    return { protocol, from, to, cidrs, origin: raw.origin };
  };
  return membership.map(({ m, groups: gs }) => ({
    logicalId: m.logicalId,
    ip: m.ip,
    groups: gs,
    ingress: gs.flatMap((k) => group(k).ingress).map(normalize).filter((r): r is SgRule => !!r),
    egress: gs.flatMap((k) => group(k).egress).map(normalize).filter((r): r is SgRule => !!r),
  }));
}

/** An instance's groups: SecurityGroupIds, its network interfaces' GroupSet, else its launch template's. */
function groupsOf(m: FirewallMachine, templates: Map<string, Json>, groupKey: (stack: string, node: Json) => string): string[] {
  const res = templates.get(m.stack)?.Resources ?? {};
  const inst = res[m.logicalId];
  if (!inst) throw new Error(`no instance ${m.logicalId} in ${m.stack}`);
  const p = inst.Properties ?? {};
  let refs: Json[] = [...asList(p.SecurityGroupIds), ...asList(p.SecurityGroups), ...asList(p.NetworkInterfaces).flatMap((n: Json) => asList(n.GroupSet))];
  const ltRef = p.LaunchTemplate?.LaunchTemplateId?.Ref;
  if (refs.length === 0 && typeof ltRef === 'string') {
    const data = res[ltRef]?.Properties?.LaunchTemplateData ?? {};
    refs = [...asList(data.SecurityGroupIds), ...asList(data.NetworkInterfaces).flatMap((n: Json) => asList(n.Groups))];
  }
  const keys = refs.map((r) => groupKey(m.stack, r));
  return keys.length ? [...new Set(keys)] : [DEFAULT_GROUP];
}

/** The nft match of a rule's protocol and ports. */
function nftMatch(r: SgRule): string {
  if (r.protocol === 'all') return '';
  if (r.protocol === 'tcp' || r.protocol === 'udp') {
    return r.from === r.to ? `${r.protocol} dport ${r.from}` : `${r.protocol} dport ${r.from}-${r.to}`;
  }
  if (r.protocol === 'icmp') {
    return ['meta l4proto icmp', r.from >= 0 ? `icmp type ${r.from}` : '', r.from >= 0 && r.to >= 0 ? `icmp code ${r.to}` : '']
      .filter(Boolean)
      .join(' ');
  }
  if (/^\d+$/.test(r.protocol)) return `meta l4proto ${r.protocol}`;
  return `meta l4proto ${r.protocol}`;
}

const comment = (s: string): string => `comment "${s.replace(/[^A-Za-z0-9 ()/._:-]/g, '').slice(0, 120)}"`;

/**
 * The nftables script for one machine's namespace. `exempt`: the twin's service
 * addresses, always reachable and always allowed to reach the machine.
 */
export function nftRuleset(fw: MachineFirewall, exempt: string[]): string {
  const chain = (name: string, hook: string, peer: 'saddr' | 'daddr', rules: SgRule[]) => [
    `  chain ${name} {`,
    `    type filter hook ${hook} priority filter; policy drop;`,
    `    ${hook === 'input' ? 'iif' : 'oif'} lo accept`,
    '    ct state established,related accept',
    '    ct state invalid drop',
    `    ip ${peer} { ${exempt.join(', ')} } accept`,
    // IPv6 (link-local only in the twin; an AWS VPC without an IPv6 block has none): neighbour discovery only.
    '    meta nfproto ipv6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    ...rules.map((r) => `    ip ${peer} { ${r.cidrs.join(', ')} } ${nftMatch(r)} accept ${comment(r.origin)}`.replace(/ {2,}/g, ' ').replace(/^ /, '    ')),
    '  }',
  ];
  return [
    'table inet dasklab_sg',
    'delete table inet dasklab_sg',
    `# ${fw.logicalId} ${fw.ip}: ${fw.groups.join(', ')}`,
    'table inet dasklab_sg {',
    ...chain('input', 'input', 'saddr', fw.ingress),
    ...chain('output', 'output', 'daddr', fw.egress),
    '}',
    '',
  ].join('\n');
}
