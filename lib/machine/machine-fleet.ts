import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { BootstrapParameters, DaskServiceParameters, MachineRole } from '../bootstrap/bootstrap-user-data';
import { DaskMachine } from './dask-machine';
import { MachineInstanceRole } from './instance-role';
import { MachineLaunchTemplate } from './machine-launch-template';
import { MachineSecurityGroup } from './machine-security-group';
import { DasklabNetwork } from '../network/network';
import { UbuntuArchitecture } from './ubuntu-image';

/** Properties of {@link MachineFleet}. */
export interface MachineFleetProps {
  /** Root volume size of every machine, in GiB. */
  readonly diskGiB: number;
  /**
   * Ubuntu release.
   * @default '24.04'
   */
  readonly ubuntuRelease?: string;
  /**
   * CIDRs that may reach SSH.
   * @default - none
   */
  readonly sshCidrs?: readonly string[];
  /**
   * SSH may be open to the whole internet (the config says so).
   * @default false
   */
  readonly sshWorldOpenAcknowledged?: boolean;
  /** What every machine's bootstrap installs. */
  readonly bootstrap: Omit<BootstrapParameters, 'role' | 'signalUrl' | 'readyTimeoutSeconds' | 'dask'>;
  /** How long the deploy waits for each machine's bootstrap. */
  readonly readyTimeout: Duration;
  /**
   * Key pair for every machine.
   * @default - each machine generates its own
   */
  readonly keyPair?: ec2.IKeyPair;
}

/** What differs between the machines of a fleet. */
export interface FleetMachineOptions {
  readonly role: MachineRole;
  readonly instanceType: string;
  readonly architecture: UbuntuArchitecture;
  /** The instance's `Name` tag. */
  readonly name: string;
  /** @default - none */
  readonly student?: string;
  /**
   * The role the machine runs as.
   * @default - the fleet's {@link MachineFleet.instanceRole}
   */
  readonly instanceRole?: MachineInstanceRole;
  /** @default - the fleet's security group only */
  readonly extraSecurityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Which public subnet (modulo their number) the machine goes to.
   * @default - the next one, round robin in the order machines are added
   */
  readonly subnetIndex?: number;
  /** @default - one assigned by EC2 */
  readonly privateIpAddress?: string;
  /** @default - no Dask service */
  readonly dask?: DaskServiceParameters;
  /**
   * On spot capacity, on demand when spot has none.
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * The machines of one stack and everything they share: one network, one
 * security group, one role (or a few, when machines need different rights)
 * and one launch template per CPU architecture and role.
 * Adding a machine adds only what is its own (instance, key pair, wait
 * condition), which keeps large labs small.
 */
export class MachineFleet extends Construct {
  public readonly network: DasklabNetwork;
  public readonly securityGroup: ec2.SecurityGroup;
  /** The role machines run as unless they are given another. */
  public readonly instanceRole: MachineInstanceRole;
  private readonly launchTemplates = new Map<string, MachineLaunchTemplate>();
  private machineCount = 0;

  constructor(scope: Construct, id: string, private readonly props: MachineFleetProps) {
    super(scope, id);
    this.network = new DasklabNetwork(this, 'Network');
    this.securityGroup = new MachineSecurityGroup(this, 'Access', {
      vpc: this.network.vpc,
      sshCidrs: props.sshCidrs,
      sshWorldOpenAcknowledged: props.sshWorldOpenAcknowledged,
    }).securityGroup;
    this.instanceRole = new MachineInstanceRole(this, 'InstanceRole');
  }

  /**
   * Another role for some of the fleet's machines, e.g. one with more rights
   * than the others; `id` names it and its launch templates.
   */
  public addInstanceRole(id: string, description: string): MachineInstanceRole {
    return new MachineInstanceRole(this, `${id}InstanceRole`, { description });
  }

  /** The shared launch template for an architecture and role, made on first use. */
  public launchTemplateFor(architecture: UbuntuArchitecture, instanceRole: MachineInstanceRole = this.instanceRole): MachineLaunchTemplate {
    // The first role's templates keep the plain ids, so that their logical ids never change.
    const roleId = instanceRole === this.instanceRole ? '' : instanceRole.node.id.replace(/InstanceRole$/, '');
    const id = `LaunchTemplate${roleId}${architecture === 'amd64' ? '' : architecture}`;
    let template = this.launchTemplates.get(id);
    if (!template) {
      template = new MachineLaunchTemplate(this, id, {
        architecture,
        diskGiB: this.props.diskGiB,
        role: instanceRole.role,
        ubuntuRelease: this.props.ubuntuRelease,
      });
      this.launchTemplates.set(id, template);
    }
    return template;
  }

  /** Adds a machine under `scope` with construct id `id`. */
  public addMachine(scope: Construct, id: string, options: FleetMachineOptions): DaskMachine {
    const subnet = this.network.subnetFor(options.subnetIndex ?? this.machineCount);
    this.machineCount++;
    return new DaskMachine(scope, id, {
      launchTemplate: this.launchTemplateFor(options.architecture, options.instanceRole),
      instanceType: options.instanceType,
      subnet,
      securityGroups: [this.securityGroup, ...(options.extraSecurityGroups ?? [])],
      role: options.role,
      bootstrap: { ...this.props.bootstrap, dask: options.dask },
      privateIpAddress: options.privateIpAddress,
      readyTimeout: this.props.readyTimeout,
      keyPair: this.props.keyPair,
      student: options.student,
      name: options.name,
      spot: options.spot,
    });
  }
}
