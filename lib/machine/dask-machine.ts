import { CfnResource, Duration, Fn, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { BootstrapParameters, MachineRole, renderBootstrap } from '../bootstrap/bootstrap-user-data';
import { BootstrapWaitCondition, SIGNAL_URL_PLACEHOLDER, userDataRevision } from '../bootstrap/bootstrap-wait-condition';
import { MachineLaunchTemplate } from './machine-launch-template';
import { acknowledge } from '../nag';
import { SpotMachine } from './spot-machine';
import { tagMachine } from '../tags';

/** Properties of {@link DaskMachine}. */
export interface DaskMachineProps {
  /** The shared launch template of the instance type's architecture. */
  readonly launchTemplate: MachineLaunchTemplate;
  /** EC2 instance type, as `family.size`. */
  readonly instanceType: string;
  /** Subnet to launch in. */
  readonly subnet: ec2.ISubnet;
  /** Security groups of the machine. */
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  /** The machine's role. */
  readonly role: MachineRole;
  /** What the bootstrap installs. */
  readonly bootstrap: Omit<BootstrapParameters, 'role' | 'signalUrl' | 'readyTimeoutSeconds'>;
  /**
   * How long the deploy waits for the bootstrap to verify itself.
   * @default Duration.minutes(30)
   */
  readonly readyTimeout?: Duration;
  /**
   * The SSH key pair.
   * @default - an ED25519 key pair of its own; the private key is kept in SSM Parameter Store
   */
  readonly keyPair?: ec2.IKeyPair;
  /**
   * Student id, in a lab.
   * @default - none
   */
  readonly student?: string;
  /** The instance's `Name` tag. */
  readonly name: string;
  /**
   * A fixed private IP address, which others can know before the machine exists.
   * @default - one assigned by EC2
   */
  readonly privateIpAddress?: string;
  /**
   * Ask for a public IPv4 address (true) or for none (false), whatever the
   * subnet maps on launch.
   * @default - as the subnet maps one on launch
   */
  readonly associatePublicIp?: boolean;
  /**
   * Launch on spot capacity (a persistent request that stops the machine when
   * EC2 reclaims the capacity), or on demand when EC2 has no spot capacity.
   * Not with a fixed private IP.
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * One Ubuntu machine whose bootstrap installs Python, a venv with numpy and
 * dask, and verifies them before the deploy completes.
 *
 * The instance is an L1 resource launched from a shared launch template: the
 * AMI is resolved by EC2 at launch, so nothing in the instance's definition
 * changes when Canonical publishes a new image.
 */
/** What the app reads of a machine, whichever resource launches it. */
export interface LaunchedMachine {
  readonly instanceId: string;
  readonly privateIp: string;
  readonly publicIp: string;
  readonly publicDnsName: string;
  /** The resource that creates the machine, for dependencies. */
  readonly cfnResource: CfnResource;
}

export class DaskMachine extends Construct {
  /** The machine: an instance, or a spot machine. */
  public readonly instance: LaunchedMachine;
  public readonly keyPair: ec2.IKeyPair;
  public readonly ready: BootstrapWaitCondition;
  /** Set when the machine generated its own key pair. */
  public readonly privateKeyParameterName?: string;
  /** False when the machine has no public IP, whose attributes CloudFormation then cannot read. */
  public readonly hasPublicIp: boolean;

  constructor(scope: Construct, id: string, props: DaskMachineProps) {
    super(scope, id);
    this.hasPublicIp = props.associatePublicIp ?? true;
    if (props.keyPair) {
      this.keyPair = props.keyPair;
    } else {
      const generated = new ec2.KeyPair(this, 'KeyPair', { type: ec2.KeyPairType.ED25519 });
      this.keyPair = generated;
      this.privateKeyParameterName = generated.privateKey.parameterName;
    }

    const readyTimeout = props.readyTimeout ?? Duration.minutes(30);
    const bootstrap = { ...props.bootstrap, role: props.role, readyTimeoutSeconds: readyTimeout.toSeconds() };
    // A change of user data restarts the machine, which applies it; the new
    // wait condition makes the deploy wait until it has verified it.
    this.ready = new BootstrapWaitCondition(this, 'Ready', {
      timeout: readyTimeout,
      revision: userDataRevision(this, renderBootstrap({ ...bootstrap, signalUrl: SIGNAL_URL_PLACEHOLDER })),
    });
    const userData = renderBootstrap({ ...bootstrap, signalUrl: this.ready.signalUrl });
    if (props.spot) {
      if (props.privateIpAddress) throw new Error(`${this.node.path}: a spot machine cannot have a fixed private IP`);
      this.instance = new SpotMachine(this, 'SpotInstance', {
        app: props.bootstrap.app,
        launchTemplate: props.launchTemplate,
        instanceType: props.instanceType,
        subnet: props.subnet,
        securityGroups: props.securityGroups,
        keyPair: this.keyPair,
        userData: Fn.base64(userData),
        associatePublicIp: props.associatePublicIp,
      });
    } else {
      const securityGroupIds = props.securityGroups.map((sg) => sg.securityGroupId);
      // Whether an instance gets a public IP is a property of its network
      // interface; naming the interface replaces SubnetId, SecurityGroupIds
      // and PrivateIpAddress on the instance:
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ec2-instance-networkinterface.html
      const placement =
        props.associatePublicIp === undefined
          ? { subnetId: props.subnet.subnetId, securityGroupIds, privateIpAddress: props.privateIpAddress }
          : {
              networkInterfaces: [
                {
                  deviceIndex: '0',
                  subnetId: props.subnet.subnetId,
                  groupSet: securityGroupIds,
                  privateIpAddress: props.privateIpAddress,
                  associatePublicIpAddress: props.associatePublicIp,
                  deleteOnTermination: true,
                },
              ],
            };
      const instance = new ec2.CfnInstance(this, 'Instance', {
        launchTemplate: props.launchTemplate.specification,
        instanceType: props.instanceType,
        ...placement,
        keyName: this.keyPair.keyPairName,
        userData: Fn.base64(userData),
        propagateTagsToVolumeOnCreation: true,
      });
      this.instance = {
        instanceId: instance.ref,
        privateIp: instance.attrPrivateIp,
        publicIp: instance.attrPublicIp,
        publicDnsName: instance.attrPublicDnsName,
        cfnResource: instance,
      };
      acknowledge(instance, 'detailedMonitoring');
      acknowledge(instance, 'terminationProtection');
    }

    this.ready.waitFor(this.instance.cfnResource);
    Tags.of(this).add('Name', props.name);
    tagMachine(this, props.role, props.student);
  }

  public get instanceId(): string {
    return this.instance.instanceId;
  }

  public get publicIp(): string {
    return this.instance.publicIp;
  }

  public get publicDnsName(): string {
    return this.instance.publicDnsName;
  }

  public get privateIp(): string {
    return this.instance.privateIp;
  }
}
