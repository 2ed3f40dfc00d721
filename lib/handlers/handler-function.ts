import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Properties of {@link HandlerFunction}. */
export interface HandlerFunctionProps {
  /** File name in `lib/handlers/` whose `handler` export the function runs, e.g. `spot-machine.ts`. */
  readonly handlerFile: string;
  /** What the function does, for the console. */
  readonly description: string;
  /**
   * How long one invocation may run; the handler's waiters stop in time to answer.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
}

/**
 * A Lambda function running one of `lib/handlers/`, bundled by esbuild with
 * the AWS SDK left to the runtime. Its role can write only to its own log
 * group, which goes with the stack; callers grant the rest.
 */
export class HandlerFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, props.handlerFile),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.minutes(1),
      description: props.description,
      role: this.role,
      logGroup,
      bundling: { minify: true, sourceMap: false },
    });
  }

  /** The ARN a custom resource's ServiceToken points at. */
  public get serviceToken(): string {
    return this.function.functionArn;
  }
}
