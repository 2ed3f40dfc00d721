import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { checkWorldOpen } from '../network/world-open';

/** Properties of {@link MachineSecurityGroup}. */
export interface MachineSecurityGroupProps {
  readonly vpc: ec2.IVpc;
  /**
   * CIDRs that may reach SSH (port 22).
   * @default - none: no SSH ingress; Session Manager still works
   */
  readonly sshCidrs?: readonly string[];
  /** Shown in the console. */
  readonly description?: string;
  /**
   * The config acknowledged SSH open to the whole internet (`access.allowWorldOpen`).
   * @default false
   */
  readonly sshWorldOpenAcknowledged?: boolean;
  /**
   * The port of the HTTP(S) proxy the machines reach out through (network.proxy).
   * @default - no proxy
   */
  readonly proxyPort?: number;
}

/** An IPv4 or IPv6 peer for a CIDR. */
export function peerOf(cidr: string): ec2.IPeer {
  return cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr);
}

/**
 * The machines' security group. Ingress: SSH from the given CIDRs only.
 * Egress: HTTP and HTTPS, which apt, pip, Session Manager and the readiness
 * signal use. DNS, instance metadata and time sync are not filtered by
 * security groups, so they need no rule.
 */
export class MachineSecurityGroup extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: MachineSecurityGroupProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: props.description ?? 'dasklab machines',
      allowAllOutbound: false,
    });
    checkWorldOpen(this.securityGroup, props.sshCidrs ?? [], {
      field: 'sshCidrs',
      opens: 'SSH (port 22)',
      acknowledged: props.sshWorldOpenAcknowledged ?? false,
    });
    for (const cidr of props.sshCidrs ?? []) {
      this.securityGroup.addIngressRule(peerOf(cidr), ec2.Port.tcp(22), `SSH from ${cidr}`);
    }
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: pip, SSM, CloudFormation');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP: the Ubuntu archive');
    if (props.proxyPort !== undefined && props.proxyPort !== 80 && props.proxyPort !== 443) {
      // The proxy is named by host name, whose addresses are not known at synth.
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(props.proxyPort), 'HTTP(S) proxy: apt, pip, AWS APIs');
    }
  }
}
