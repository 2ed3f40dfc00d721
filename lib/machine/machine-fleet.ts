import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { BootstrapParameters, DaskServiceParameters, MachineRole, MaterialsLocation } from '../bootstrap/bootstrap-user-data';
import { DaskMachine } from './dask-machine';
import { MachineInstanceRole } from './instance-role';
import { MachineLaunchTemplate } from './machine-launch-template';
import { MachineSecurityGroup } from './machine-security-group';
import { grantPackageIndexAccess } from './package-index-access';
import { grantLockFileRead } from './python-lock-asset';
import { NetworkConfig, proxyPort } from '../config/network-schema';
import { ExistingNetwork } from '../network/existing-network';
import { endpointServicesFor } from '../network/vpc-endpoints';
import { DasklabNetwork } from '../network/network';
import { UbuntuArchitecture } from './ubuntu-image';
import { MachineWrittenParameters } from './machine-written-parameters';
import { versionSetPath, versionSetRoot } from './version-set';
import { BakedImage } from '../image/baked-image';
import { ImageBootstrapParameters, imageBootstrapOf } from '../image/image-definition';

/** What every machine of a fleet is launched with. */
export interface FleetMachineSettings {
  /** Root volume size of every machine, in GiB. */
  readonly diskGiB: number;
  /**
   * Ubuntu release.
   * @default '24.04'
   */
  readonly ubuntuRelease?: string;
  /** What every machine's bootstrap installs. */
  readonly bootstrap: Omit<BootstrapParameters, 'role' | 'signalUrl' | 'readyTimeoutSeconds' | 'dask' | 'jupyter' | 'materials'>;
  /** How long the deploy waits for each machine's bootstrap. */
  readonly readyTimeout: Duration;
  /**
   * Key pair for every machine.
   * @default - each machine generates its own
   */
  readonly keyPair?: ec2.IKeyPair;
  /**
   * Boot every machine from the app's baked image (lib/image/baked-image.ts).
   * @default - none: each machine installs at its first boot
   */
  readonly image?: FleetImageSettings;
}

/** The app's baked image. */
export interface FleetImageSettings {
  /** The image holds JupyterLab's packages too: some machine of the app runs it. */
  readonly jupyter: boolean;
}

/** Properties of {@link MachineFleet}. */
export interface MachineFleetProps extends FleetMachineSettings {
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
  /**
   * An existing VPC and its subnets to launch into.
   * @default - the fleet makes a VPC of its own
   */
  readonly existingNetwork?: NetworkConfig;
}

/** The network a fleet launches into. */
export interface FleetNetwork {
  readonly vpc: ec2.IVpc;
  /** The subnets machines go to. */
  readonly subnets: readonly ec2.ISubnet[];
  /**
   * Whether machines get a public IPv4 address, asked for explicitly.
   * @default - as the subnet maps one on launch
   */
  readonly publicIp?: boolean;
  /** The subnet machine number `index` goes to. */
  subnetFor(index: number): ec2.ISubnet;
  /**
   * What machines wait for before they launch: the VPC endpoints dasklab
   * makes. Until an interface endpoint exists its private DNS name does not
   * answer, and the bootstrap's AWS calls (which skip the proxy) would go to
   * AWS's public endpoints, out of reach of a subnet without a way out.
   * @default - nothing
   */
  readonly machinesDependOn?: IDependable;
}

/** Who the machines of a fleet run as. */
export interface FleetIdentity {
  /** The machines' role. */
  readonly role: iam.IRole;
  /**
   * The instance profile the launch templates name.
   * @default - each launch template makes one for `role`
   */
  readonly instanceProfile?: iam.IInstanceProfile;
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
   * JupyterLab on the machine (lib/machine/jupyter-lab.ts).
   * @default false
   */
  readonly jupyter?: boolean;
  /**
   * Course materials to unpack into the login user's course folder.
   * @default - none
   */
  readonly materials?: MaterialsLocation;
  /**
   * On spot capacity, on demand when spot has none.
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * Machines launched alike: one launch template per CPU architecture and role,
 * made on first use in the fleet's own stack, shared by the fleet's machines.
 * Adding a machine adds only what is its own (instance, key pair, wait
 * condition), which keeps large labs small.
 */
export abstract class FleetBase extends Construct {
  public abstract readonly network: FleetNetwork;
  public abstract readonly securityGroup: ec2.ISecurityGroup;
  /** The cleanup of the app's version sets, which every machine is deleted before. */
  protected abstract readonly versionSet: MachineWrittenParameters;
  private readonly launchTemplates = new Map<string, MachineLaunchTemplate>();
  private machineCount = 0;

  protected constructor(scope: Construct, id: string, protected readonly settings: FleetMachineSettings) {
    super(scope, id);
  }

  /**
   * Who machines given `instanceRole` (or none: the fleet's default) run as,
   * and the part of their launch templates' ids that names that role ('' for
   * the default, so that its templates' logical ids never change).
   */
  protected abstract identityOf(instanceRole?: MachineInstanceRole): { readonly idPart: string; readonly identity: FleetIdentity };

  /**
   * The baked image machines of `architecture` boot from, with what they must
   * be launched after (the image's AMI parameter, where it is in this stack);
   * `instanceType` (one of them) builds it.
   */
  protected abstract bakedImageFor(architecture: UbuntuArchitecture, instanceType: string): { readonly machineImage: ec2.IMachineImage; readonly ready?: IDependable };

  /** What a machine of the fleet installs, as its image's part ({@link FleetMachineSettings.image}). */
  protected get imageBootstrap(): ImageBootstrapParameters {
    return imageBootstrapOf(this.settings.bootstrap, this.settings.image?.jupyter ?? false);
  }

  /** The shared launch template for an architecture and role, made on first use (`instanceType` builds a baked image). */
  public launchTemplateFor(architecture: UbuntuArchitecture, instanceType: string, instanceRole?: MachineInstanceRole): MachineLaunchTemplate {
    const { idPart, identity } = this.identityOf(instanceRole);
    const id = `LaunchTemplate${idPart}${architecture === 'amd64' ? '' : architecture}`;
    let template = this.launchTemplates.get(id);
    if (!template) {
      const baked = this.settings.image ? this.bakedImageFor(architecture, instanceType) : undefined;
      template = new MachineLaunchTemplate(this, id, {
        architecture,
        diskGiB: this.settings.diskGiB,
        role: identity.role,
        instanceProfile: identity.instanceProfile,
        ubuntuRelease: this.settings.ubuntuRelease,
        machineImage: baked?.machineImage,
      });
      // EC2 resolves the image's parameter at each launch; a template made before it exists would launch nothing.
      // The template resource only: its instance profile (two minutes of IAM propagation) is made during the build.
      if (baked?.ready) template.launchTemplate.node.defaultChild!.node.addDependency(baked.ready);
      this.launchTemplates.set(id, template);
    }
    return template;
  }

  /** Adds a machine under `scope` with construct id `id`. */
  public addMachine(scope: Construct, id: string, options: FleetMachineOptions): DaskMachine {
    const subnet = this.network.subnetFor(options.subnetIndex ?? this.machineCount);
    this.machineCount++;
    const machine = new DaskMachine(scope, id, {
      launchTemplate: this.launchTemplateFor(options.architecture, options.instanceType, options.instanceRole),
      instanceType: options.instanceType,
      subnet,
      securityGroups: [this.securityGroup, ...(options.extraSecurityGroups ?? [])],
      role: options.role,
      bootstrap: { ...this.settings.bootstrap, dask: options.dask, jupyter: options.jupyter, materials: options.materials },
      privateIpAddress: options.privateIpAddress,
      associatePublicIp: this.network.publicIp,
      readyTimeout: this.settings.readyTimeout,
      keyPair: this.settings.keyPair,
      student: options.student,
      name: options.name,
      spot: options.spot,
    });
    if (this.network.machinesDependOn) machine.instance.cfnResource.node.addDependency(this.network.machinesDependOn);
    // Deleted after every machine, so that no machine adds a version set after the cleanup.
    machine.instance.cfnResource.node.addDependency(this.versionSet.resource);
    return machine;
  }
}

/**
 * The machines of one stack and everything they share: one network, one
 * security group, one role (or a few, when machines need different rights)
 * and one launch template per CPU architecture and role.
 */
export class MachineFleet extends FleetBase {
  public readonly network: DasklabNetwork | ExistingNetwork;
  public readonly securityGroup: ec2.SecurityGroup;
  /** The role machines run as unless they are given another. */
  public readonly instanceRole: MachineInstanceRole;
  /** The package index every machine role of the fleet may read. */
  private readonly codeArtifact: MachineFleetProps['bootstrap']['codeArtifact'];
  /** The cleanup of the app's version sets (lib/machine/version-set.ts), all under one root. */
  public readonly versionSet: MachineWrittenParameters;
  /** The version set of this package config, which every machine role of the fleet may read and add to. */
  private readonly versionSetPath: string;
  private readonly ubuntuRelease?: string;
  private readonly diskGiB: number;
  /** Which of the network's subnets a baked image is built in. */
  private readonly buildSubnetIndex: number;

  constructor(scope: Construct, id: string, props: MachineFleetProps) {
    super(scope, id, props);
    this.codeArtifact = props.bootstrap.codeArtifact;
    // Image Builder gives the build instance no public IP of its own (its infrastructure configuration has
    // no such setting), so in an existing network the build goes to a subnet that reaches out without one
    // (the config refuses machine.bake where there is none); an app's own VPC maps public IPs on launch.
    this.buildSubnetIndex = Math.max(0, props.existingNetwork?.subnets.findIndex((subnet) => !subnet.public) ?? 0);
    this.ubuntuRelease = props.ubuntuRelease;
    this.diskGiB = props.diskGiB;
    this.network = props.existingNetwork
      ? new ExistingNetwork(this, 'Network', { network: props.existingNetwork, endpointServices: endpointServicesFor({ codeArtifact: props.bootstrap.codeArtifact !== undefined }) })
      : new DasklabNetwork(this, 'Network');
    this.securityGroup = new MachineSecurityGroup(this, 'Access', {
      vpc: this.network.vpc,
      sshCidrs: props.sshCidrs,
      sshWorldOpenAcknowledged: props.sshWorldOpenAcknowledged,
      proxyPort: props.existingNetwork?.proxy ? proxyPort(props.existingNetwork.proxy) : undefined,
    }).securityGroup;
    this.instanceRole = new MachineInstanceRole(this, 'InstanceRole');
    grantPackageIndexAccess(this.instanceRole.role, props.bootstrap.codeArtifact);
    if (props.bootstrap.lockFile) grantLockFileRead(this.instanceRole.role, props.bootstrap.lockFile);
    this.versionSet = new MachineWrittenParameters(this, 'VersionSet', { path: versionSetRoot(props.bootstrap.app), writers: [] });
    this.versionSetPath = versionSetPath(props.bootstrap.app, props.bootstrap);
    this.instanceRole.allowVersionSet(this.versionSet.path, this.versionSetPath);
  }

  /**
   * Another role for some of the fleet's machines, e.g. one with more rights
   * than the others; `id` names it and its launch templates.
   */
  public addInstanceRole(id: string, description: string): MachineInstanceRole {
    const instanceRole = new MachineInstanceRole(this, `${id}InstanceRole`, { description });
    grantPackageIndexAccess(instanceRole.role, this.codeArtifact);
    if (this.settings.bootstrap.lockFile) grantLockFileRead(instanceRole.role, this.settings.bootstrap.lockFile);
    instanceRole.allowVersionSet(this.versionSet.path, this.versionSetPath);
    return instanceRole;
  }

  /** The app's baked image of `architecture`, built in this fleet's stack on first use. */
  public bakedImageFor(architecture: UbuntuArchitecture, instanceType: string): BakedImage {
    const id = `Image${architecture === 'amd64' ? '' : architecture}`;
    const existing = this.node.tryFindChild(id);
    if (existing) return existing as BakedImage;
    const image = new BakedImage(this, id, {
      bootstrap: this.imageBootstrap,
      architecture,
      ubuntuRelease: this.ubuntuRelease,
      instanceType,
      diskGiB: this.diskGiB,
      vpc: this.network.vpc,
      subnet: this.network.subnets[this.buildSubnetIndex],
      versionSet: { root: this.versionSet.path, path: this.versionSetPath },
      codeArtifact: this.codeArtifact,
    });
    // The build may share a version set: built after the sets' cleanup exists, deleted before it runs.
    image.image.node.addDependency(this.versionSet.resource);
    // And it reaches out as the machines do: through the VPC's internet gateway or the endpoints dasklab makes.
    image.image.node.addDependency(this.network.subnets[this.buildSubnetIndex].internetConnectivityEstablished);
    const network: FleetNetwork = this.network;
    if (network.machinesDependOn) image.image.node.addDependency(network.machinesDependOn);
    return image;
  }

  protected identityOf(instanceRole: MachineInstanceRole = this.instanceRole) {
    const idPart = instanceRole === this.instanceRole ? '' : instanceRole.node.id.replace(/InstanceRole$/, '');
    return { idPart, identity: { role: instanceRole.role } };
  }
}
