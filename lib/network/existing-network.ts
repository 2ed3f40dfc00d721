import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, IDependable } from 'constructs';
import { machinesGetPublicIp, NetworkConfig } from '../config/network-schema';
import type { FleetNetwork } from '../machine/machine-fleet';
import { EndpointService, MachineEndpoints } from './vpc-endpoints';

/** Properties of {@link ExistingNetwork}. */
export interface ExistingNetworkProps {
  /** The config's `network`: the VPC and its subnets, given in full. */
  readonly network: NetworkConfig;
  /**
   * The VPC endpoints the machines use, made when `network.endpoints` is "create".
   * @default - none
   */
  readonly endpointServices?: readonly EndpointService[];
}

/**
 * A VPC that exists already, owned by someone else: the machines go into its
 * subnets and dasklab creates nothing of the network itself (no subnet,
 * route, gateway or flow log), so `cdk destroy` removes only what dasklab
 * made. Built from the config's ids, zones and CIDRs alone, without a lookup,
 * so synth needs no AWS credentials.
 */
export class ExistingNetwork extends Construct implements FleetNetwork {
  public readonly vpc: ec2.IVpc;
  public readonly subnets: readonly ec2.ISubnet[];
  /** Whether the machines get a public IPv4 address (explicitly, whatever the subnet maps on launch). */
  public readonly publicIp: boolean;
  /** The VPC endpoints dasklab made, if any. */
  public readonly endpoints?: MachineEndpoints;
  /** The endpoints dasklab makes, if any: machines launch once they exist. */
  public readonly machinesDependOn?: IDependable;

  constructor(scope: Construct, id: string, props: ExistingNetworkProps) {
    super(scope, id);
    const { network } = props;
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: network.vpcId,
      availabilityZones: [...new Set(network.subnets.map((s) => s.zone))],
    });
    this.subnets = network.subnets.map((subnet, i) =>
      ec2.Subnet.fromSubnetAttributes(this, `Subnet${i + 1}`, {
        subnetId: subnet.id,
        availabilityZone: subnet.zone,
        ipv4CidrBlock: subnet.cidr,
        routeTableId: subnet.routeTableId ?? undefined,
      }),
    );
    this.publicIp = machinesGetPublicIp(network);
    if (network.endpoints === 'create') {
      this.endpoints = new MachineEndpoints(this, 'Endpoints', { vpc: this.vpc, subnets: this.subnets, services: props.endpointServices ?? [] });
      this.machinesDependOn = this.endpoints;
    }
  }

  /** The subnet machine number `index` goes to, round robin over the config's subnets. */
  public subnetFor(index: number): ec2.ISubnet {
    return this.subnets[index % this.subnets.length];
  }
}
