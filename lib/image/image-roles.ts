import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CodeArtifactRepository } from '../config/schema';
import { grantVersionSet, SESSION_MANAGER_ACTIONS } from '../machine/instance-role';
import { grantPackageIndexAccess } from '../machine/package-index-access';
import { grantLockFileRead } from '../machine/python-lock-asset';
import type { LockFileLocation } from '../bootstrap/bootstrap-user-data';
import { acknowledge } from '../nag';

/** Properties of {@link ImageBuildRole}. */
export interface ImageBuildRoleProps {
  /** The build's component, the only one the instance may fetch. */
  readonly componentArn: string;
  /** The app's version sets: the root every set is under, and this package config's set. */
  readonly versionSet: { readonly root: string; readonly path: string };
  /** @default - none */
  readonly codeArtifact?: CodeArtifactRepository;
  /**
   * The app's lock file, which the build's pip phase installs.
   * @default - none
   */
  readonly lockFile?: LockFileLocation;
  /** The log group Image Builder streams the build's log to, the only one the instance may write (its ARN with the `:*` of its streams, as the CDK gives it). */
  readonly logGroupArn: string;
}

/**
 * What Image Builder's build instance runs as: what the SSM agent needs for
 * Image Builder to run the build through Run Command, what AWSTOE needs to
 * fetch the component and stream its log, and what the bootstrap's install
 * phases need (the version set, the package index). In place of the
 * AWS-managed policies AmazonSSMManagedInstanceCore and
 * EC2InstanceProfileForImageBuilder, whose content is AWS's to change: the
 * actions of their published versions that a build uses, without State
 * Manager, inventory or patching (no enhanced image metadata), parameters,
 * containers, ISO imports or KMS-encrypted components:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/image-builder-setting-up.html#image-builder-IAM-prereq
 * https://docs.aws.amazon.com/aws-managed-policy/latest/reference/EC2InstanceProfileForImageBuilder.html
 * https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html
 */
export class ImageBuildRole extends Construct {
  public readonly role: iam.Role;
  public readonly instanceProfile: iam.InstanceProfile;

  constructor(scope: Construct, id: string, props: ImageBuildRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'dasklab image build instance: Run Command for Image Builder, the build component, the app\'s version set',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'RunCommandAgent', actions: [...RUN_COMMAND_AGENT_ACTIONS], resources: ['*'] }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'BuildComponent', actions: ['imagebuilder:GetComponent'], resources: [props.componentArn] }),
    );
    // AWSTOE, the component runner, is downloaded from Image Builder's own buckets.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ComponentRunner', actions: ['s3:GetObject'], resources: [`arn:${Aws.PARTITION}:s3:::ec2imagebuilder*`] }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'BuildLog', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [props.logGroupArn] }),
    );
    grantVersionSet(this.role, props.versionSet.root, props.versionSet.path);
    grantPackageIndexAccess(this.role, props.codeArtifact);
    if (props.lockFile) grantLockFileRead(this.role, props.lockFile);
    this.instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', { role: this.role });
    acknowledge(this.role, 'imageBuildAgent');
  }
}

/**
 * The SSM agent registering the instance and taking Run Command's messages
 * (ec2messages), and its session channels (ssmmessages); none of these
 * actions has resource-level permissions.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmessagedeliveryservice.html
 */
export const RUN_COMMAND_AGENT_ACTIONS = [
  ...SESSION_MANAGER_ACTIONS,
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
] as const;


/**
 * What Image Builder assumes to delete an image's AMI and snapshots when the
 * image is deleted or replaced (DeletionSettings.ExecutionRole), limited to
 * what Image Builder made (its CreatedBy tag), as AWS's own lifecycle policy
 * is: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/EC2ImageBuilderLifecycleExecutionPolicy.html
 */
export class ImageDeletionRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('imagebuilder.amazonaws.com'),
      description: 'dasklab: Image Builder deletes the app image\'s AMI and snapshots when the image is deleted',
    });
    const createdByImageBuilder = { StringEquals: { 'aws:ResourceTag/CreatedBy': 'EC2 Image Builder' } };
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeregisterImage',
        actions: ['ec2:DeregisterImage', 'ec2:DescribeImageAttribute'],
        resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}::image/*`],
        conditions: createdByImageBuilder,
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'DeleteSnapshot', actions: ['ec2:DeleteSnapshot'], resources: [`arn:${Aws.PARTITION}:ec2:${Aws.REGION}::snapshot/*`], conditions: createdByImageBuilder }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'DeleteImage', actions: ['imagebuilder:DeleteImage'], resources: [`arn:${Aws.PARTITION}:imagebuilder:${Aws.REGION}:${Aws.ACCOUNT_ID}:image/*`] }),
    );
    // No resource-level permissions.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'FindImage', actions: ['ec2:DescribeImages', 'tag:GetResources'], resources: ['*'] }));
    acknowledge(this.role, 'imageDeletion');
  }
}
