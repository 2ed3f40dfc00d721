import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** A VPC endpoint the machines use: the service's name after `com.amazonaws.<region>.`, and why. */
export interface EndpointService {
  readonly service: string;
  readonly type: 'Interface' | 'Gateway';
  readonly usedFor: string;
}

/**
 * Session Manager's endpoints. SSM Agent 3.3.40.0 and later no longer call
 * ec2messages, but the agent in the image may be older and cannot update
 * itself without a way out, so that endpoint is made too:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html
 */
const SESSION_MANAGER: readonly EndpointService[] = [
  { service: 'ssm', type: 'Interface', usedFor: 'Session Manager, the cluster\'s certificate parameters and the app\'s version sets' },
  { service: 'ssmmessages', type: 'Interface', usedFor: 'Session Manager\'s sessions (tunnel, tls-client, handouts)' },
  { service: 'ec2messages', type: 'Interface', usedFor: 'SSM agents older than 3.3.40.0' },
];

/**
 * The endpoints a config's machines use, and only those:
 * - Session Manager's three (above);
 * - ec2: the machine's self-tag (CreateTags) and a lab machine's idle stop;
 * - s3 (a gateway, free): the readiness signal goes to the wait condition
 *   handle's presigned S3 URL, in a bucket of CloudFormation's
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-waitcondition.html);
 * - codeartifact.api (the token) and codeartifact.repositories (pip), with
 *   python.codeArtifact; Python packages need no S3 endpoint of their own
 *   (https://docs.aws.amazon.com/codeartifact/latest/ug/create-vpc-endpoints.html,
 *   https://docs.aws.amazon.com/codeartifact/latest/ug/create-s3-gateway-endpoint.html).
 */
export function endpointServicesFor(options: { readonly codeArtifact: boolean }): EndpointService[] {
  return [
    ...SESSION_MANAGER,
    { service: 'ec2', type: 'Interface', usedFor: 'the machines\' bootstrap tag and idle stop' },
    { service: 's3', type: 'Gateway', usedFor: 'the readiness signal (a presigned S3 URL of CloudFormation\'s)' },
    ...(options.codeArtifact
      ? [
          { service: 'codeartifact.api', type: 'Interface' as const, usedFor: 'the CodeArtifact token' },
          { service: 'codeartifact.repositories', type: 'Interface' as const, usedFor: 'pip\'s CodeArtifact index' },
        ]
      : []),
  ];
}

/** Properties of {@link MachineEndpoints}. */
export interface MachineEndpointsProps {
  readonly vpc: ec2.IVpc;
  /** The machines' subnets; their route tables carry the gateway endpoints. */
  readonly subnets: readonly ec2.ISubnet[];
  /** The endpoints to make. */
  readonly services: readonly EndpointService[];
}

/**
 * The VPC endpoints through which machines without a way out reach AWS.
 * Interface endpoints answer at the service's usual name (private DNS, which
 * needs the VPC's enableDnsSupport and enableDnsHostnames:
 * https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html)
 * in one subnet per zone (EC2 accepts no more), behind a group that admits
 * HTTPS from the machines' subnets only.
 */
export class MachineEndpoints extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: MachineEndpointsProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'dasklab VPC endpoints: HTTPS from the machine subnets',
      allowAllOutbound: false,
    });
    for (const subnet of props.subnets) {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(subnet.ipv4CidrBlock), ec2.Port.tcp(443), `HTTPS from ${subnet.subnetId}`);
    }
    const onePerZone = props.subnets.filter((s, i) => props.subnets.findIndex((t) => t.availabilityZone === s.availabilityZone) === i);
    for (const { service, type } of props.services) {
      const id = service.split('.').map((part) => part[0].toUpperCase() + part.slice(1)).join('');
      if (type === 'Gateway') {
        new ec2.GatewayVpcEndpoint(this, id, {
          vpc: props.vpc,
          service: new ec2.GatewayVpcEndpointAwsService(service),
          subnets: [{ subnets: [...props.subnets] }],
        });
      } else {
        new ec2.InterfaceVpcEndpoint(this, id, {
          vpc: props.vpc,
          service: new ec2.InterfaceVpcEndpointAwsService(service),
          subnets: { subnets: onePerZone },
          privateDnsEnabled: true,
          securityGroups: [this.securityGroup],
          // The group above admits the subnets; `open` would admit the whole VPC.
          open: false,
        });
      }
    }
  }
}
