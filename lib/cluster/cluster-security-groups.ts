import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { DASK_PORTS } from './dask-ports';
import { peerOf } from '../machine/machine-security-group';
import { checkWorldOpen } from '../network/world-open';

/**
 * EC2 gives a security group without inline egress rules an allow-all egress
 * rule, and standalone egress rules (which CDK makes for rules between
 * groups) do not remove it. An inline rule that matches nothing does, leaving
 * only the standalone rules.
 */
export function denyDefaultEgress(group: ec2.SecurityGroup): void {
  (group.node.defaultChild as ec2.CfnSecurityGroup).addPropertyOverride('SecurityGroupEgress', [
    { CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86, Description: 'No egress but the rules of this group' },
  ]);
}

/** Properties of {@link ClusterSecurityGroups}. */
export interface ClusterSecurityGroupsProps {
  readonly vpc: ec2.IVpc;
  /**
   * CIDRs that may reach the scheduler's dashboard.
   * @default - none: the dashboard is reached through a tunnel
   */
  readonly dashboardCidrs?: readonly string[];
  /**
   * The config acknowledged the dashboard open to the whole internet.
   * @default false
   */
  readonly dashboardWorldOpenAcknowledged?: boolean;
}

/**
 * Exactly the traffic Dask needs inside a cluster, and nothing more:
 * - `member`: on every cluster machine; it names the cluster, and lets members
 *   send to each other on the Dask ports only;
 * - `scheduler`: on the scheduler; the scheduler port from members, the
 *   dashboard from `dashboardCidrs`;
 * - `worker`: on each worker; the worker and nanny ports from members (the
 *   scheduler, and other workers exchanging data).
 */
export class ClusterSecurityGroups extends Construct {
  public readonly member: ec2.SecurityGroup;
  public readonly scheduler: ec2.SecurityGroup;
  public readonly worker: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ClusterSecurityGroupsProps) {
    super(scope, id);
    const group = (name: string, description: string) =>
      new ec2.SecurityGroup(this, name, { vpc: props.vpc, description, allowAllOutbound: false });
    this.member = group('Member', 'dasklab cluster members: Dask traffic between them');
    denyDefaultEgress(this.member);
    this.scheduler = group('Scheduler', 'dasklab Dask scheduler');
    this.worker = group('Worker', 'dasklab Dask workers');

    const schedulerPort = ec2.Port.tcp(DASK_PORTS.scheduler);
    const workerPorts = ec2.Port.tcpRange(DASK_PORTS.worker, DASK_PORTS.nanny);
    this.member.addEgressRule(this.member, schedulerPort, 'to the Dask scheduler');
    this.member.addEgressRule(this.member, workerPorts, 'to Dask workers and nannies');
    this.scheduler.addIngressRule(this.member, schedulerPort, 'Dask scheduler, from cluster members');
    this.worker.addIngressRule(this.member, workerPorts, 'Dask worker and nanny, from cluster members');
    checkWorldOpen(this.scheduler, props.dashboardCidrs ?? [], {
      field: 'dashboardCidrs',
      opens: 'the Dask dashboard (port 8787)',
      acknowledged: props.dashboardWorldOpenAcknowledged ?? false,
    });
    for (const cidr of props.dashboardCidrs ?? []) {
      this.scheduler.addIngressRule(peerOf(cidr), ec2.Port.tcp(DASK_PORTS.dashboard), `Dask dashboard from ${cidr}`);
    }
  }
}
