import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as imagebuilder from 'aws-cdk-lib/aws-imagebuilder';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IDependable } from 'constructs';
import { CodeArtifactRepository } from '../config/schema';
import { TAG_APP } from '../tag-keys';
import { UbuntuArchitecture } from '../machine/ubuntu-image';
import { ImageBuildRole, ImageDeletionRole } from './image-roles';
import { ImageBootstrapParameters, ImageDefinition, imageDefinitionOf } from './image-definition';
import { BakedImageReference } from './baked-image-reference';

/** Properties of {@link BakedImage}. */
export interface BakedImageProps {
  /** What the image's bootstrap installs: the app's package config. */
  readonly bootstrap: ImageBootstrapParameters;
  readonly architecture: UbuntuArchitecture;
  /**
   * Ubuntu release of the parent image.
   * @default '24.04'
   */
  readonly ubuntuRelease?: string;
  /** The instance type of the build: one of the app's, so the account has quota for it. */
  readonly instanceType: string;
  /** Root volume size of the image, in GiB: the machines' disk size, which must not be smaller. */
  readonly diskGiB: number;
  /** The VPC of the build instance. */
  readonly vpc: ec2.IVpc;
  /** A subnet of `vpc` that reaches the Ubuntu archive, the package index and Systems Manager directly. */
  readonly subnet: ec2.ISubnet;
  /** The app's version sets: the root every set is under, and this package config's set. */
  readonly versionSet: { readonly root: string; readonly path: string };
  /**
   * The CodeArtifact repository pip installs from.
   * @default - none
   */
  readonly codeArtifact?: CodeArtifactRepository;
}

/**
 * An app's machine image for one CPU architecture, built by EC2 Image Builder
 * while the stack deploys: Canonical's Ubuntu with Python, the venv and the
 * app's packages installed by the machines' own bootstrap. Its AMI id goes to
 * an SSM parameter that the machines' launch templates name
 * ({@link BakedImageReference}); a machine boots from it and runs only what is
 * its own.
 *
 * The component and the recipe are immutable in Image Builder and their names
 * carry the image's digest, so a change of what goes into the image replaces
 * them, the image and the parameter, and with the parameter's name every
 * launch template (`lib/image/image-definition.ts`). Deleting or replacing the
 * image deregisters its AMI and deletes its snapshots (DeletionSettings):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-imagebuilder-image-deletionsettings.html
 */
export class BakedImage extends Construct {
  public readonly definition: ImageDefinition;
  /** The AMI id's parameter, which machines launched from it must wait for. */
  public readonly parameter: ssm.CfnParameter;
  public readonly image: imagebuilder.CfnImage;

  constructor(scope: Construct, id: string, props: BakedImageProps) {
    super(scope, id);
    const definition = imageDefinitionOf(props.bootstrap, props);
    this.definition = definition;

    // No supportedOsVersions: Image Builder matches it as a prefix of the parent image's OS version, whose
    // form for Ubuntu is not documented; the parent is Canonical's Ubuntu in any case.
    const component = new imagebuilder.CfnComponent(this, 'Component', { name: definition.name, ...definition.component });
    const recipe = new imagebuilder.CfnImageRecipe(this, 'Recipe', {
      name: definition.name,
      ...definition.recipe,
      components: [{ componentArn: component.attrArn }],
    });

    // As the machines' own (MachineSecurityGroup): the VPC's DNS is not filtered by security groups.
    const securityGroup = new ec2.SecurityGroup(this, 'BuildSecurityGroup', {
      vpc: props.vpc,
      description: `dasklab ${props.bootstrap.app}: the image build instance (no inbound; out to the package sources and Systems Manager)`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: pip, Systems Manager, Image Builder');
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP: the Ubuntu archive');
    // Image Builder streams the build's log to /aws/imagebuilder/<image name> (the recipe's name); made here, it goes with the stack.
    // https://docs.aws.amazon.com/imagebuilder/latest/userguide/monitor-cwlogs.html
    const buildLog = new logs.LogGroup(this, 'BuildLog', {
      logGroupName: `/aws/imagebuilder/${definition.name}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const buildRole = new ImageBuildRole(this, 'BuildRole', {
      logGroupArn: buildLog.logGroupArn,
      componentArn: component.attrArn,
      versionSet: props.versionSet,
      codeArtifact: props.codeArtifact,
      lockFile: props.bootstrap.lockFile,
    });
    const infrastructure = new imagebuilder.CfnInfrastructureConfiguration(this, 'Infrastructure', {
      name: definition.name,
      description: `dasklab ${props.bootstrap.app}: where the ${props.architecture} image is built`,
      instanceProfileName: buildRole.instanceProfile.instanceProfileName,
      instanceTypes: [props.instanceType],
      subnetId: props.subnet.subnetId,
      securityGroupIds: [securityGroup.securityGroupId],
      terminateInstanceOnFailure: true,
      // The build instance is the app's while it runs.
      resourceTags: { [TAG_APP]: props.bootstrap.app },
      instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
    });

    const deletionRole = new ImageDeletionRole(this, 'DeletionRole');
    this.image = new imagebuilder.CfnImage(this, 'Image', {
      imageRecipeArn: recipe.attrArn,
      infrastructureConfigurationArn: infrastructure.attrArn,
      // The machines' bootstrap verifies the image at every boot (userdata/bootstrap.sh, phase_verify).
      imageTestsConfiguration: { imageTestsEnabled: false },
      enhancedImageMetadataEnabled: false,
      deletionSettings: { executionRole: deletionRole.role.roleArn },
    });
    // Deleted after the image, whose deletion it carries out.
    this.image.node.addDependency(deletionRole);
    // The role's policy is its own resource, which the instance profile does not wait for.
    this.image.node.addDependency(buildRole);

    this.parameter = new ssm.CfnParameter(this, 'ImageId', {
      name: definition.parameterName,
      type: 'String',
      dataType: 'aws:ec2:image',
      value: this.image.attrImageId,
      description: `dasklab ${props.bootstrap.app}: the AMI the app's ${props.architecture} machines boot from`,
    });
  }

  /** What machines launched from the image must wait for: its AMI's parameter. */
  public get ready(): IDependable {
    return this.parameter;
  }

  /** The image as a launch template's machine image. */
  public get machineImage(): ec2.IMachineImage {
    return new BakedImageReference(this.definition.parameterName);
  }
}
