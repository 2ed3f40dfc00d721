import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';

import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { TAG_BOOTSTRAP } from '../tags';

/**
 * The role all machines of a stack share: what Session Manager needs, and the
 * right to set one tag, its bootstrap status, on the machine itself and on no
 * other. One role and one instance profile per stack, whatever the number of
 * machines.
 */
export class MachineInstanceRole extends Construct {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'dasklab machines: Session Manager access; each machine tags itself with its bootstrap status',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TagOwnBootstrapStatus',
        actions: ['ec2:CreateTags'],
        resources: ['arn:aws:ec2:*:*:instance/*'],
        conditions: {
          // The instance named by the request is the one the credentials belong to.
          StringEquals: { 'aws:ARN': '${ec2:SourceInstanceARN}' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_BOOTSTRAP] },
        },
      }),
    );
    acknowledge(this.role, 'ssmManagedPolicy');
    acknowledge(this.role, 'tagOwnInstance');
  }

  /**
   * Lets the machines read and write the parameters under `path` (e.g. a
   * cluster's TLS certificates) and no others.
   */
  public allowParameterPath(path: string): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ClusterParameters',
        actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:PutParameter'],
        resources: [parameterArn(Stack.of(this), `${path}/*`)],
      }),
    );
    acknowledge(this.role, 'clusterParameters', { path });
  }
}

/** The ARN of an SSM parameter (or a pattern, with `*`), from its name as SSM writes it: `/a/b`. */
export function parameterArn(stack: Stack, name: string): string {
  return Arn.format({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, ''), arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
}
