import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link DasklabNetwork}. */
export interface DasklabNetworkProps {
  /**
   * Number of availability zones.
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * The VPC's IPv4 range.
   * @default '10.40.0.0/16'
   */
  readonly cidr?: string;
  /**
   * How long the flow log of rejected traffic is kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * A VPC with public subnets only. Machines reach apt, PyPI and CloudFormation
 * through the internet gateway; there is no NAT gateway, whose hourly price
 * would exceed that of a small machine. Ingress stays closed by the machines'
 * security groups; what they reject is recorded in a flow log (rejected
 * traffic only, which keeps its cost near zero), deleted with the stack.
 */
export class DasklabNetwork extends Construct {
  public readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: DasklabNetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.40.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
      // No machine uses the default security group; restricting it would add a
      // custom-resource Lambda to every stack.
      restrictDefaultSecurityGroup: false,
    });
    const flowLogGroup = new logs.LogGroup(this, 'RejectedTraffic', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
  }

  /** The subnets machines go to: the public ones. */
  public get subnets(): readonly ec2.ISubnet[] {
    return this.vpc.publicSubnets;
  }

  /** The public subnet machine number `index` goes to, spreading machines across AZs. */
  public subnetFor(index: number): ec2.ISubnet {
    const subnets = this.vpc.publicSubnets;
    return subnets[index % subnets.length];
  }
}
