import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** CPU architecture in Canonical's naming. */
export type UbuntuArchitecture = 'amd64' | 'arm64';

/** Properties of {@link UbuntuImage}. */
export interface UbuntuImageProps {
  /**
   * Ubuntu release.
   * @default '24.04'
   */
  readonly release?: string;
  /** CPU architecture of the instance type. */
  readonly architecture: UbuntuArchitecture;
}

/**
 * The current Ubuntu server AMI, named by Canonical's public SSM parameter and
 * resolved by EC2 when an instance launches (`resolve:ssm:` in a launch
 * template). The template text never holds an AMI id, so a new Canonical image
 * does not replace running machines at the next deploy, and synth needs no
 * AWS lookup.
 */
export class UbuntuImage implements ec2.IMachineImage {
  /** The SSM parameter that names the current AMI. */
  public readonly parameterName: string;

  constructor(props: UbuntuImageProps) {
    const release = props.release ?? '24.04';
    this.parameterName =
      `/aws/service/canonical/ubuntu/server/${release}/stable/current/${props.architecture}/hvm/ebs-gp3/ami-id`;
  }

  public getImage(_scope: Construct): ec2.MachineImageConfig {
    return {
      imageId: `resolve:ssm:${this.parameterName}`,
      osType: ec2.OperatingSystemType.LINUX,
      userData: ec2.UserData.forLinux(),
    };
  }
}
