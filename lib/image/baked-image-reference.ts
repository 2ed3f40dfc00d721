import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/**
 * An app's baked image (lib/image/baked-image.ts) as a launch template names
 * it: by the SSM parameter that holds its AMI id, which EC2 resolves at each
 * launch (`resolve:ssm:`), so that a stack that did not build the image (a
 * lab's student stacks) names it without an export, which CloudFormation
 * would refuse to change when the image is rebuilt.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/create-launch-template.html#use-an-ssm-parameter-instead-of-an-ami-id
 */
export class BakedImageReference implements ec2.IMachineImage {
  constructor(public readonly parameterName: string) {}

  public getImage(_scope: Construct): ec2.MachineImageConfig {
    return {
      imageId: `resolve:ssm:${this.parameterName}`,
      osType: ec2.OperatingSystemType.LINUX,
      userData: ec2.UserData.forLinux(),
    };
  }
}
