import { CustomResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { HandlerFunction } from '../handlers/handler-function';
import { MachineInstanceRole, parameterArn } from './instance-role';
import { acknowledge } from '../nag';

/** Properties of {@link MachineWrittenParameters}. */
export interface MachineWrittenParametersProps {
  /** The SSM parameter path, without a trailing slash, e.g. `/dasklab/demo/cluster/tls`. */
  readonly path: string;
  /** The roles of the machines that write under the path (and read it). */
  readonly writers: readonly MachineInstanceRole[];
  /**
   * The roles of the machines that only read under the path.
   * @default - none
   */
  readonly readers?: readonly MachineInstanceRole[];
}

/**
 * SSM parameters that the machines write themselves under one path (a
 * cluster's TLS certificates, as SecureString, which CloudFormation cannot
 * create), removed with the stack: a custom resource deletes everything under
 * the path when it is deleted. Machines that write there must depend on
 * {@link resource}, so that they are gone before it cleans up.
 */
export class MachineWrittenParameters extends Construct {
  public readonly resource: CustomResource;
  public readonly path: string;

  constructor(scope: Construct, id: string, props: MachineWrittenParametersProps) {
    super(scope, id);
    this.path = props.path;
    for (const role of props.writers) role.allowParameterWrite(props.path);
    for (const role of props.readers ?? []) role.allowParameterRead(props.path);
    // A function of its own per path, though the code is one: a custom resource's ServiceToken cannot be
    // updated, so moving a deployed resource to a shared function would fail the stack's update
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html).
    const cleaner = new HandlerFunction(this, 'Cleaner', {
      handlerFile: 'parameter-path.ts',
      description: `dasklab: deletes the parameters machines wrote under ${props.path} when the stack is deleted`,
    });
    cleaner.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteParametersUnderPath',
        actions: ['ssm:GetParametersByPath', 'ssm:DeleteParameters'],
        resources: [
          // GetParametersByPath is authorized on the path itself, DeleteParameters on each name under it.
          parameterArn(Stack.of(this), props.path),
          parameterArn(Stack.of(this), `${props.path}/*`),
        ],
      }),
    );
    acknowledge(cleaner.role, 'parameterCleanup', { path: props.path });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: cleaner.function.functionArn,
      resourceType: 'Custom::DasklabParameterPath',
      properties: { Path: props.path },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
