import { Arn, ArnFormat, CfnResource, CustomResource, Duration, ITaggable, Lazy, RemovalPolicy, Stack, TagManager, TagType, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { BakedImageReference } from '../image/baked-image-reference';
import type { LaunchedMachine } from './dask-machine';
import { HandlerFunction } from '../handlers/handler-function';
import { SPOT_MACHINE_RESOURCE_TYPE, SpotMachineProperties } from './spot-machine-properties';

export { SPOT_MACHINE_RESOURCE_TYPE } from './spot-machine-properties';
import { MachineLaunchTemplate } from './machine-launch-template';
import { acknowledge } from '../nag';
import { parameterArn } from './instance-role';
import { TAG_APP } from '../tag-keys';

/** The service principal of EC2 Spot, whose service-linked role spot requests need. */
const SPOT_SERVICE = 'spot.amazonaws.com';

/** Properties of {@link SpotMachine}. */
export interface SpotMachineProps {
  /** The app's name: the launcher may only launch and end machines tagged with it. */
  readonly app: string;
  /** The launch template, without market options: the on-demand fallback uses it as is. */
  readonly launchTemplate: MachineLaunchTemplate;
  readonly instanceType: string;
  readonly subnet: ec2.ISubnet;
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  readonly keyPair: ec2.IKeyPair;
  /** Base64 user data. */
  readonly userData: string;
  /**
   * Ask for a public IPv4 address (true) or for none (false).
   * @default - as the subnet maps one on launch
   */
  readonly associatePublicIp?: boolean;
}

/**
 * One machine on spot capacity, or on demand when EC2 has none: a custom
 * resource whose Lambda (lib/handlers/spot-machine.ts) asks for a persistent
 * spot instance and falls back to on-demand. The machine carries the tags
 * given to this construct (it is taggable like an instance) plus
 * `dasklab:market`; `cdk destroy` cancels its spot request and terminates it.
 */
export class SpotMachine extends Construct implements ITaggable, LaunchedMachine {
  public readonly tags = new TagManager(TagType.KEY_VALUE, SPOT_MACHINE_RESOURCE_TYPE);
  public readonly resource: CustomResource;
  public readonly cfnResource: CfnResource;

  constructor(scope: Construct, id: string, props: SpotMachineProps) {
    super(scope, id);
    const launcher = SpotMachineLauncher.of(this, props);
    const properties: { [K in keyof SpotMachineProperties]: unknown } = {
      LaunchTemplateId: props.launchTemplate.specification.launchTemplateId,
      LaunchTemplateVersion: props.launchTemplate.specification.version,
      InstanceType: props.instanceType,
      SubnetId: props.subnet.subnetId,
      SecurityGroupIds: props.securityGroups.map((sg) => sg.securityGroupId),
      KeyName: props.keyPair.keyPairName,
      UserData: props.userData,
      AssociatePublicIpAddress: props.associatePublicIp === undefined ? undefined : String(props.associatePublicIp),
      Tags: Lazy.any({ produce: () => this.tags.renderTags() }),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: launcher.serviceToken,
      resourceType: SPOT_MACHINE_RESOURCE_TYPE,
      properties,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.cfnResource = this.resource.node.defaultChild as CfnResource;
  }

  public get instanceId(): string {
    return this.resource.ref;
  }

  /** `spot` or `on-demand`, as launched. */
  public get market(): string {
    return this.resource.getAttString('Market');
  }

  public get privateIp(): string {
    return this.resource.getAttString('PrivateIp');
  }

  public get publicIp(): string {
    return this.resource.getAttString('PublicIp');
  }

  public get publicDnsName(): string {
    return this.resource.getAttString('PublicDnsName');
  }
}

/**
 * The function that launches a stack's spot machines, one per stack, and
 * what it may do: launch from this stack's launch templates into the app's
 * subnets with the app's security groups and keys, only machines tagged with
 * the app, pass only the machines' role, and end only the app's machines.
 */
class SpotMachineLauncher extends HandlerFunction {
  static of(scope: Construct, props: SpotMachineProps): SpotMachineLauncher {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild('SpotMachineLauncher') as SpotMachineLauncher | undefined;
    const launcher = existing ?? new SpotMachineLauncher(stack, 'SpotMachineLauncher', props.app);
    launcher.allowLaunchTemplate(props.launchTemplate);
    launcher.allowSubnet(props.subnet);
    return launcher;
  }

  private readonly launchTemplates = new Set<string>();
  private readonly subnetIds = new Set<string>();

  private constructor(scope: Construct, id: string, app: string) {
    super(scope, id, {
      handlerFile: 'spot-machine.ts',
      description: `dasklab ${app}: launches spot workers, on demand when spot has no capacity, and terminates them`,
      // Launching waits up to 5 minutes for the machine to run, deleting up to 10 for it to end.
      timeout: Duration.minutes(12),
    });
    const stack = Stack.of(this);
    const ec2Arn = (resource: string, account = stack.account) =>
      Arn.format({ service: 'ec2', resource, resourceName: '*', account, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
    const appTag = (kind: 'RequestTag' | 'ResourceTag') => ({ StringEquals: { [`aws:${kind}/${TAG_APP}`]: app } });
    const statements = [
      { sid: 'LaunchAppMachines', actions: ['ec2:RunInstances'], resources: [ec2Arn('instance')], conditions: appTag('RequestTag') },
      {
        sid: 'WithTheirDisksInterfacesAndSpotRequests',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('volume'), ec2Arn('network-interface'), ec2Arn('spot-instances-request')],
      },
      {
        sid: 'InAppNetworksWithAppKeys',
        actions: ['ec2:RunInstances'],
        resources: [ec2Arn('subnet'), ec2Arn('security-group'), ec2Arn('key-pair')],
        conditions: appTag('ResourceTag'),
      },
      { sid: 'FromPublicImages', actions: ['ec2:RunInstances'], resources: [ec2Arn('image', '')] },
      {
        // The launch templates' image is Canonical's public SSM parameter, resolved with the caller's rights.
        sid: 'ResolveUbuntuImage',
        actions: ['ssm:GetParameters'],
        resources: [Arn.format({ service: 'ssm', account: '', resource: 'parameter', resourceName: 'aws/service/canonical/*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack)],
      },
      {
        sid: 'TagAtLaunch',
        actions: ['ec2:CreateTags'],
        resources: [ec2Arn('instance'), ec2Arn('volume'), ec2Arn('spot-instances-request')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      },
      {
        sid: 'RetagAndEndAppMachines',
        actions: ['ec2:CreateTags', 'ec2:DeleteTags', 'ec2:TerminateInstances'],
        resources: [ec2Arn('instance')],
        conditions: appTag('ResourceTag'),
      },
      { sid: 'CancelAppSpotRequests', actions: ['ec2:CancelSpotInstanceRequests'], resources: [ec2Arn('spot-instances-request')], conditions: appTag('ResourceTag') },
      // DescribeInstances has no resource-level permissions.
      { sid: 'WatchMachines', actions: ['ec2:DescribeInstances'], resources: ['*'] },
      {
        // EC2 creates the AWSServiceRoleForEC2Spot service-linked role at the account's first spot
        // request, with the caller's rights; a request through the API must be allowed to
        // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html).
        sid: 'CreateSpotServiceLinkedRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          Arn.format({ service: 'iam', region: '', resource: 'role', resourceName: `aws-service-role/${SPOT_SERVICE}/AWSServiceRoleForEC2Spot`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack),
        ],
        conditions: { StringEquals: { 'iam:AWSServiceName': SPOT_SERVICE } },
      },
    ];
    for (const statement of statements) this.role.addToPrincipalPolicy(new iam.PolicyStatement(statement));
    for (const which of ['spotLauncherMachines', 'spotLauncherLaunchParts', 'spotLauncherAppNetwork', 'spotLauncherImages', 'spotLauncherDescribe'] as const) {
      acknowledge(this.role, which);
    }
  }

  /**
   * Lets the launcher launch into a subnet of an existing VPC, named by its id:
   * the app did not make it, so it carries no app tag. Subnets the app makes
   * are allowed by their tag. The account in the ARN is any: a subnet shared
   * with this account through AWS RAM keeps its owner's account in its ARN
   * (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-sharing.html), which
   * synth cannot know, and the subnet id alone is unique.
   */
  private allowSubnet(subnet: ec2.ISubnet): void {
    if (Token.isUnresolved(subnet.subnetId) || this.subnetIds.has(subnet.subnetId)) return;
    this.subnetIds.add(subnet.subnetId);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:RunInstances'],
        resources: [Arn.format({ service: 'ec2', account: '*', resource: 'subnet', resourceName: subnet.subnetId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, Stack.of(this))],
      }),
    );
    acknowledge(this.role, 'spotLauncherSharedSubnet', { subnetId: subnet.subnetId });
  }

  /** Lets the launcher use a launch template and pass its machines' role. */
  private allowLaunchTemplate(template: MachineLaunchTemplate): void {
    const id = template.specification.launchTemplateId;
    if (this.launchTemplates.has(template.node.path)) return;
    this.launchTemplates.add(template.node.path);
    const stack = Stack.of(this);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:RunInstances'],
        resources: [Arn.format({ service: 'ec2', resource: 'launch-template', resourceName: id, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack)],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [template.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
    // EC2 resolves a launch template's image parameter with the caller's rights: "anyone who uses the
    // launch template also needs the ssm:GetParameters permission" for it.
    // https://docs.aws.amazon.com/autoscaling/ec2/userguide/using-systems-manager-parameters.html
    if (template.image instanceof BakedImageReference) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['ssm:GetParameters'], resources: [parameterArn(stack, template.image.parameterName)] }),
      );
    }
  }
}
