import { Construct } from 'constructs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { FleetBase, FleetIdentity, FleetMachineSettings, FleetNetwork } from '../machine/machine-fleet';
import { MachineWrittenParameters } from '../machine/machine-written-parameters';
import { MachineInstanceRole } from '../machine/instance-role';
import { UbuntuArchitecture } from '../machine/ubuntu-image';
import { BakedImageReference } from '../image/baked-image-reference';
import { imageDefinitionOf } from '../image/image-definition';

/** Properties of {@link LabStudentFleet}. */
export interface LabStudentFleetProps extends FleetMachineSettings {
  /** The lab's network, in `<name>-Lab-Shared`. */
  readonly network: FleetNetwork;
  /** The lab machines' security group, in `<name>-Lab-Shared`. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** The lab machines' role and instance profile, in `<name>-Lab-Shared`. */
  readonly identity: Required<FleetIdentity>;
  /** The app's version sets, in `<name>-Lab-Shared`. */
  readonly versionSet: MachineWrittenParameters;
}

/**
 * The machines of one student stack. The network, security group, role and
 * instance profile are the shared stack's, read through exports whose values
 * no config change alters; the launch templates are the student stack's own,
 * so that a new disk size, Ubuntu release or instance type changes only the
 * stacks whose machines use it, and no export.
 */
export class LabStudentFleet extends FleetBase {
  public readonly network: FleetNetwork;
  public readonly securityGroup: ec2.ISecurityGroup;
  private readonly sharedIdentity: Required<FleetIdentity>;
  protected readonly versionSet: MachineWrittenParameters;

  constructor(scope: Construct, id: string, props: LabStudentFleetProps) {
    super(scope, id, props);
    this.network = props.network;
    this.securityGroup = props.securityGroup;
    this.sharedIdentity = props.identity;
    this.versionSet = props.versionSet;
  }

  /**
   * The shared stack's image (LabSharedStack), named by its parameter: the
   * same definition yields the same name in both stacks, and no export.
   */
  protected bakedImageFor(architecture: UbuntuArchitecture) {
    return { machineImage: new BakedImageReference(imageDefinitionOf(this.imageBootstrap, { architecture, ubuntuRelease: this.settings.ubuntuRelease, diskGiB: this.settings.diskGiB }).parameterName) };
  }

  protected identityOf(instanceRole?: MachineInstanceRole): { idPart: string; identity: FleetIdentity } {
    if (instanceRole) throw new Error(`${this.node.path}: lab machines all run as the shared stack's role`);
    return { idPart: '', identity: this.sharedIdentity };
  }
}
