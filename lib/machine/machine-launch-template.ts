import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { UbuntuArchitecture, UbuntuImage } from './ubuntu-image';

/** Properties of {@link MachineLaunchTemplate}. */
export interface MachineLaunchTemplateProps {
  /** CPU architecture of the instance types launched from it. */
  readonly architecture: UbuntuArchitecture;
  /** Root volume size in GiB. */
  readonly diskGiB: number;
  /** The role the machines run as. */
  readonly role: iam.IRole;
  /**
   * The instance profile of `role` (one made elsewhere, e.g. in a lab's shared stack).
   * @default - one made for `role` next to the launch template
   */
  readonly instanceProfile?: iam.IInstanceProfile;
  /**
   * Ubuntu release.
   * @default '24.04'
   */
  readonly ubuntuRelease?: string;
  /**
   * The image machines boot from, e.g. the app's baked image.
   * @default - Canonical's current Ubuntu image of `ubuntuRelease`
   */
  readonly machineImage?: ec2.IMachineImage;
}

/**
 * What every machine of one architecture has in common: the image (Ubuntu's
 * or the app's baked one, resolved by EC2 at launch), IMDSv2 only, an encrypted gp3 root volume
 * and the instance profile. Shared by all machines of a stack.
 */
export class MachineLaunchTemplate extends Construct {
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly image: ec2.IMachineImage;
  /** The role the machines run as. */
  public readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: MachineLaunchTemplateProps) {
    super(scope, id);
    this.role = props.role;
    this.image = props.machineImage ?? new UbuntuImage({ release: props.ubuntuRelease, architecture: props.architecture });
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: this.image,
      ...(props.instanceProfile ? { instanceProfile: props.instanceProfile } : { role: props.role }),
      requireImdsv2: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          // The root device of Canonical's images.
          deviceName: '/dev/sda1',
          volume: ec2.BlockDeviceVolume.ebs(props.diskGiB, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });
  }

  /** The reference an instance launches from; changes only when this template does. */
  public get specification(): { launchTemplateId: string; version: string } {
    return {
      launchTemplateId: this.launchTemplate.launchTemplateId!,
      version: this.launchTemplate.latestVersionNumber,
    };
  }
}
