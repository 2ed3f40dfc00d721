import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * Every cdk-nag rule (and CDK template-validation rule) dasklab acknowledges
 * rather than fixes, with the reason.
 * Kept as data in one place so that the list can be reviewed, and each
 * construct acknowledges only what applies to its own resources.
 */
export const NAG_ACKNOWLEDGEMENTS = {
  detailedMonitoring: {
    ids: ['AwsSolutions::AwsSolutions-EC28'],
    reason:
      'Basic 5-minute EC2 metrics are enough for a Dask machine or a student machine; detailed monitoring ' +
      'would add a monthly charge per machine, which for a class of hundreds is a surprise bill.',
  },
  terminationProtection: {
    ids: ['AwsSolutions::AwsSolutions-EC29'],
    reason:
      'dasklab machines are disposable and rebuilt from config; `cdk destroy` must remove every machine ' +
      'after a class or a job, which termination protection would block.',
  },
  worldOpenAcknowledged: {
    ids: ['AwsSolutions::AwsSolutions-EC23'],
    reason:
      'The config lists this access list in access.allowWorldOpen: its owner asked for the port to be open ' +
      'to the whole internet, and synth prints a warning naming it.',
  },
  worldOpenSensitivePort: {
    ids: ['CloudFormation-Validate::W2508'],
    reason:
      'The config lists this access list in access.allowWorldOpen: SSH open to the whole internet was asked ' +
      'for explicitly, and synth prints a warning naming it.',
  },
  sessionManager: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::*]'],
    reason:
      'The Session Manager agent registers the instance (ssm:UpdateInstanceInformation) and opens its session ' +
      'channels (ssmmessages:*Channel); these actions have no resource-level permissions. Nothing else is on *.',
  },
  packageIndexBearerToken: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::*]'],
    reason:
      'With python.codeArtifact, the machines may also call sts:GetServiceBearerToken, which CodeArtifact\'s ' +
      'GetAuthorizationToken needs and which has no resource-level permissions; the condition ' +
      'sts:AWSServiceName = codeartifact.amazonaws.com limits it to CodeArtifact tokens, as ' +
      '`tests/unit/package-index-access.test.ts` › "a repository of the stack\'s own account and region: exact statements" holds.',
  },
  tagOwnInstance: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]'],
    reason:
      'An instance id is not known before the instance exists; the condition ec2:SourceInstanceARN = the ARN of ' +
      'ec2:InstanceID limits ec2:CreateTags to the calling machine itself, and aws:TagKeys to its dasklab:bootstrap and dasklab:jupyter tags.',
  },
  clusterParameters: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter{path}/*]'],
    reason:
      'The names of the certificate parameters sit under one path of this cluster (/dasklab/<name>/cluster/tls); ' +
      'the scheduler may read and write that path, the workers only read it, and no machine any other parameter.',
  },
  versionSetParameters: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter{path}/*]'],
    reason:
      'The machines may read the version sets under one path of this app (/dasklab/<name>/python), named by a digest of the ' +
      'package config, which a deploy may change while they restart; they may add only the two of their own config, never overwrite one.',
  },
  imageBuildAgent: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::*]', 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::ec2imagebuilder*]'],
    reason:
      'The image build instance\'s SSM agent registers the instance and takes Run Command\'s messages (ssm:UpdateInstanceInformation, ' +
      'ec2messages:*, ssmmessages:*Channel), actions without resource-level permissions, and reads AWSTOE, the component runner, ' +
      'from Image Builder\'s own ec2imagebuilder* buckets, whose names are Image Builder\'s.',
  },
  imageDeletion: {
    ids: [
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:imagebuilder:<AWS::Region>:<AWS::AccountId>:image/*]',
    ],
    reason:
      'Image Builder deletes the AMI and snapshots of the app\'s image when the image is deleted or replaced; their ids exist only ' +
      'after the build, and the role may deregister and delete only what carries Image Builder\'s CreatedBy tag, and delete only ' +
      'Image Builder images of this account and region. ec2:DescribeImages and tag:GetResources have no resource-level permissions.',
  },
  parameterCleanup: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter{path}/*]'],
    reason:
      'When the stack is deleted, the cleanup function deletes the parameters the machines wrote under this ' +
      'cluster\'s path, whose names it learns only then; it may list and delete under that path and no other.',
  },
  spotLauncherMachines: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]'],
    reason:
      'The spot launcher cannot name a worker before launching it: RunInstances is allowed only for machines ' +
      'tagged dasklab:app=<name> at launch, and retagging and terminating only machines that carry that tag.',
  },
  spotLauncherLaunchParts: {
    ids: ['volume', 'network-interface', 'spot-instances-request'].map(
      (type) => `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${type}/*]`,
    ),
    reason:
      'The root volume, network interface and spot request are created by the same RunInstances call as the ' +
      'worker, which the launcher may make only for machines tagged with the app; their ids do not exist before.',
  },
  spotLauncherAppNetwork: {
    ids: ['subnet', 'security-group', 'key-pair'].map(
      (type) => `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${type}/*]`,
    ),
    reason:
      'Limited by condition to subnets, security groups and key pairs tagged dasklab:app=<name>: the workers\' ' +
      'own, whose ids a policy written before them cannot list without a dependency on every one.',
  },
  spotLauncherSharedSubnet: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:*:subnet/{subnetId}]'],
    reason:
      'One subnet of the existing VPC, named by its id (unique across accounts); any account, because a subnet ' +
      'shared through AWS RAM keeps its owner\'s account in its ARN, which synth cannot know.',
  },
  spotLauncherImages: {
    ids: [
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>::parameter/aws/service/canonical/*]',
    ],
    reason:
      'Workers launch from Canonical\'s current Ubuntu image, which EC2 resolves from Canonical\'s public SSM ' +
      'parameter at launch with the caller\'s rights; its AMI id changes with every Ubuntu release.',
  },
  spotLauncherDescribe: {
    ids: ['AwsSolutions::AwsSolutions-IAM5[Resource::*]'],
    reason:
      'ec2:DescribeInstances, with which the launcher waits for a worker to run or to end, has no ' +
      'resource-level permissions; it is the only action of the launcher on all resources.',
  },
} as const;

/**
 * Acknowledges one of {@link NAG_ACKNOWLEDGEMENTS} on a construct; `{key}`
 * placeholders in its id are filled from `values`.
 */
export function acknowledge(
  scope: IConstruct,
  which: keyof typeof NAG_ACKNOWLEDGEMENTS,
  values: Record<string, string> = {},
): void {
  const { ids, reason } = NAG_ACKNOWLEDGEMENTS[which];
  for (const id of ids) {
    Validations.of(scope).acknowledge({ id: id.replace(/\{(\w+)\}/g, (_, key: string) => values[key]), reason });
  }
}

/** The entry of {@link NAG_ACKNOWLEDGEMENTS} an acknowledged finding id comes from, if any. */
export function acknowledgementOf(findingId: string): keyof typeof NAG_ACKNOWLEDGEMENTS | undefined {
  const escape = (text: string) => text.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  return (Object.keys(NAG_ACKNOWLEDGEMENTS) as (keyof typeof NAG_ACKNOWLEDGEMENTS)[]).find((key) =>
    NAG_ACKNOWLEDGEMENTS[key].ids.some((id: string) =>
      new RegExp(`^${escape(id).replace(/\\?\{\w+\\?\}/g, '[^\\]]+')}$`).test(findingId),
    ),
  );
}

/** Runs the AWS Solutions rule pack over every stack of the app at synth. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
