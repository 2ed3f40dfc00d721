import { createHash } from 'crypto';
import { CfnWaitCondition, CfnWaitConditionHandle, Duration, Stack } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';

/** Properties of {@link BootstrapWaitCondition}. */
export interface BootstrapWaitConditionProps {
  /** How long CloudFormation waits for the machine to report. */
  readonly timeout: Duration;
  /**
   * What the machine is asked to apply, e.g. {@link userDataRevision} of its
   * user data: a new revision is a new handle and a new wait condition, which
   * the deploy waits on again.
   * @default - one wait condition for the machine's lifetime
   */
  readonly revision?: string;
}

/**
 * Holds `cdk deploy` until a machine's bootstrap has verified itself.
 *
 * The bootstrap PUTs its result to the handle's pre-signed URL with curl
 * (cfn-signal is not on stock Ubuntu). A FAILURE signal fails the deploy with
 * the tail of the bootstrap log as the reason; no signal fails it at the
 * timeout.
 *
 * A wait condition waits once, when it is created; a handle is never updated,
 * and a reused one may carry old signals ("Anytime you add a WaitCondition
 * resource during a stack update or update a resource with a wait condition,
 * you must associate the wait condition with a new WaitConditionHandle",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitconditionhandle.html).
 * So both carry the revision in their logical ids: a deploy that changes the
 * machine's user data creates a new pair, whose URL the new user data holds,
 * and waits for the machine to verify the new settings.
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
    const revision = props.revision ?? '';
    if (!/^[A-Za-z0-9]*$/.test(revision)) {
      throw new Error(`a wait condition's revision must be letters and digits (it is part of logical ids), got ${JSON.stringify(revision)}`);
    }
    this.handle = new CfnWaitConditionHandle(this, `Handle${revision}`);
    this.condition = new CfnWaitCondition(this, `Condition${revision}`, {
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

/** What stands for the signal URL in user data whose revision is computed. */
export const SIGNAL_URL_PLACEHOLDER = 'https://wait-condition-handle.invalid/';

/**
 * A short digest of user data as CloudFormation will see it (tokens resolved
 * to their intrinsics in `scope`'s stack), rendered with
 * {@link SIGNAL_URL_PLACEHOLDER} for the signal URL, which itself depends on
 * the revision.
 */
export function userDataRevision(scope: Construct, userData: string): string {
  const resolved = JSON.stringify(Stack.of(scope).resolve(userData));
  return createHash('sha256').update(resolved).digest('hex').slice(0, 10);
}
