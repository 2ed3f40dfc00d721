/**
 * Whether a machine can be reached directly from outside, read from its
 * security groups. The config's `access.sshCidrs` and `access.dashboardCidrs`
 * become ingress rules; the CLI reads the rules rather than the config, because
 * the deployed stack is the truth and the config may have changed since.
 */
import { EC2Client, IpPermission, paginateDescribeSecurityGroups } from '@aws-sdk/client-ec2';
import { DASK_PORTS } from '../cluster/dask-ports';
import { Machine } from './machines';

/** SSH's port. */
export const SSH_PORT = 22;

/** How a machine can be reached from outside its VPC. */
export interface Reachability {
  /** Port 22 is open to some address range and the machine has a public IP. */
  readonly ssh: boolean;
  /** The Dask dashboard port is open to some address range and the machine has a public IP. */
  readonly dashboard: boolean;
}

/**
 * The ports of interest (SSH, dashboard) each security group opens to an
 * address range. Rules that only admit other security groups do not count:
 * they let the cluster's machines talk, not the user in.
 */
export async function openPortsByGroup(ec2: EC2Client, groupIds: readonly string[]): Promise<Map<string, Set<number>>> {
  const result = new Map<string, Set<number>>();
  const unique = [...new Set(groupIds)];
  if (unique.length === 0) return result;
  for await (const page of paginateDescribeSecurityGroups({ client: ec2 }, { GroupIds: unique })) {
    for (const group of page.SecurityGroups ?? []) {
      const ports = new Set<number>();
      for (const port of [SSH_PORT, DASK_PORTS.dashboard]) {
        if ((group.IpPermissions ?? []).some((p) => opensToRange(p, port))) ports.add(port);
      }
      result.set(group.GroupId ?? '', ports);
    }
  }
  return result;
}

/** True if the rule admits TCP `port` from an IPv4/IPv6 range or a prefix list. */
export function opensToRange(permission: IpPermission, port: number): boolean {
  const protocol = permission.IpProtocol ?? '';
  const allProtocols = protocol === '-1' || protocol === 'all';
  const tcp = protocol === 'tcp' || protocol === '6';
  if (!allProtocols && !tcp) return false;
  if (tcp && !(permission.FromPort !== undefined && permission.ToPort !== undefined && permission.FromPort <= port && port <= permission.ToPort)) {
    return false;
  }
  return (permission.IpRanges?.length ?? 0) + (permission.Ipv6Ranges?.length ?? 0) + (permission.PrefixListIds?.length ?? 0) > 0;
}

/** How `machine` can be reached, given {@link openPortsByGroup}'s answer. */
export function reachabilityOf(machine: Machine, openPorts: ReadonlyMap<string, ReadonlySet<number>>): Reachability {
  const opens = (port: number) => machine.publicIp !== undefined && machine.securityGroupIds.some((g) => openPorts.get(g)?.has(port) ?? false);
  return { ssh: opens(SSH_PORT), dashboard: opens(DASK_PORTS.dashboard) };
}

/** The reachability of each machine, by instance id, with one DescribeSecurityGroups call. */
export async function reachabilityOfAll(ec2: EC2Client, machines: readonly Machine[]): Promise<Map<string, Reachability>> {
  const openPorts = await openPortsByGroup(ec2, machines.flatMap((m) => m.securityGroupIds));
  return new Map(machines.map((m) => [m.instanceId, reachabilityOf(m, openPorts)]));
}
