import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';

import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { TAG_BOOTSTRAP, TAG_JUPYTER } from '../tags';
import { VERSION_SET_KINDS } from './version-set';

/**
 * What Session Manager's agent needs for shells and port forwarding, and no
 * more: the agent registers the instance and opens its session channels.
 * Session logs to S3 (s3:GetEncryptionConfiguration) and KMS-encrypted
 * sessions (kms:Decrypt) are not used by dasklab; Run Command (ec2messages,
 * ssm:ListInstanceAssociations and the like) is not used either.
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
 * These actions have no resource-level permissions.
 */
export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

/**
 * A role that machines of a stack share: what Session Manager's agent needs,
 * and the right to set two tags, its bootstrap status and whether its
 * JupyterLab answers, on the machine itself and on no other. No AWS-managed policy: its content is AWS's to change.
 */
export class MachineInstanceRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: { description?: string } = {}) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: props.description ?? 'dasklab machines: Session Manager access; each machine tags itself with its bootstrap status',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'SessionManagerChannels', actions: [...SESSION_MANAGER_ACTIONS], resources: ['*'] }),
    );
    const instanceArn = (name: string) =>
      Arn.format({ service: 'ec2', resource: 'instance', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, Stack.of(this));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagOwnBootstrapStatus',
        actions: ['ec2:CreateTags'],
        resources: [instanceArn('*')],
        conditions: {
          // The calling instance (ec2:SourceInstanceARN, in every request made with an
          // instance's role credentials) is the instance tagged (ec2:InstanceID, a
          // single-valued key of CreateTags on an instance, used as a policy variable).
          // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-policies-for-amazon-ec2.html#ec2-sourceinstancearn
          // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
          // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
          StringEquals: { 'ec2:SourceInstanceARN': instanceArn('${ec2:InstanceID}') },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_BOOTSTRAP, TAG_JUPYTER] },
        },
      }),
    );
    acknowledge(this.role, 'sessionManager');
    acknowledge(this.role, 'tagOwnInstance');
  }

  /** Lets the machines read the app's version sets and add their own ({@link grantVersionSet}). */
  public allowVersionSet(root: string, path: string): void {
    grantVersionSet(this.role, root, path);
  }

  /** Lets the machines read the parameters under `path` (e.g. a cluster's TLS certificates). */
  public allowParameterRead(path: string): void {
    this.allowParameters('ReadClusterParameters', PARAMETER_READ_ACTIONS, path);
  }

  /** Lets the machines read and write the parameters under `path`. */
  public allowParameterWrite(path: string): void {
    this.allowParameters('WriteClusterParameters', [...PARAMETER_READ_ACTIONS, 'ssm:PutParameter'], path);
  }

  private allowParameters(sid: string, actions: readonly string[], path: string): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions: [...actions], resources: [parameterArn(Stack.of(this), `${path}/*`)] }),
    );
    acknowledge(this.role, 'clusterParameters', { path });
  }
}

/**
 * Lets `role` read the app's version sets under `root` and add either kind of
 * the set at `path` (lib/machine/version-set.ts), never change one: a set is
 * what the first machine (or image build) of its kind installed, and a role
 * that could overwrite it, or add others, could move the app's versions or
 * fill the account's parameters. Reading takes the whole root: a deploy that
 * changes the package config restarts machines while CloudFormation may still
 * be updating this policy, and a machine that cannot read its set fails, while
 * one that cannot share it goes on. `ssm:Overwrite` is the request's Overwrite
 * flag, as in AWS's own deny of overwrites:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policy-conditions.html
 */
export function grantVersionSet(role: iam.Role, root: string, path: string): void {
  const stack = Stack.of(role);
  const resources = VERSION_SET_KINDS.map((kind) => parameterArn(stack, `${path}/${kind}`));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'ReadVersionSets', actions: ['ssm:GetParameters'], resources: [parameterArn(stack, `${root}/*`)] }),
  );
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ShareVersionSet', actions: ['ssm:PutParameter'], resources }));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'KeepVersionSet',
      effect: iam.Effect.DENY,
      actions: ['ssm:PutParameter'],
      resources,
      conditions: { StringEquals: { 'ssm:Overwrite': 'true' } },
    }),
  );
  acknowledge(role, 'versionSetParameters', { path: root });
}

/** What reading a path's parameters takes: one or several by name (the bootstrap and `dasklab tls-client` name them). */
const PARAMETER_READ_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters'] as const;

/** The ARN of an SSM parameter (or a pattern, with `*`), from its name as SSM writes it: `/a/b`. */
export function parameterArn(stack: Stack, name: string): string {
  return Arn.format({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, ''), arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
}
