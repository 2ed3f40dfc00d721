import { CfnWaitCondition, CfnWaitConditionHandle, Duration } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';

/** Properties of {@link BootstrapWaitCondition}. */
export interface BootstrapWaitConditionProps {
  /** How long CloudFormation waits for the machine to report. */
  readonly timeout: Duration;
}

/**
 * Holds `cdk deploy` until a machine's bootstrap has verified itself.
 *
 * The bootstrap PUTs its result to the handle's pre-signed URL with curl
 * (cfn-signal is not on stock Ubuntu). A FAILURE signal fails the deploy with
 * the tail of the bootstrap log as the reason; no signal fails it at the
 * timeout.
 */
export class BootstrapWaitCondition extends Construct {
  public readonly handle: CfnWaitConditionHandle;
  public readonly condition: CfnWaitCondition;

  constructor(scope: Construct, id: string, props: BootstrapWaitConditionProps) {
    super(scope, id);
    const seconds = props.timeout.toSeconds();
    if (seconds < 60 || seconds > 43200) {
      throw new Error(`a wait condition's timeout must be 1 to 720 minutes, got ${seconds} s`);
    }
    this.handle = new CfnWaitConditionHandle(this, 'Handle');
    this.condition = new CfnWaitCondition(this, 'Condition', {
      count: 1,
      handle: this.handle.ref,
      timeout: String(seconds),
    });
  }

  /** The URL the machine signals; a token until deploy time. */
  public get signalUrl(): string {
    return this.handle.ref;
  }

  /** The wait starts once `machine` exists. */
  public waitFor(machine: IDependable & Construct): void {
    this.condition.node.addDependency(machine);
  }
}
