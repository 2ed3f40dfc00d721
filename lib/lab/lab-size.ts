import { ConfigError } from '../config/errors';
import { DasklabConfig } from '../config/schema';

/**
 * CloudFormation's limits on one stack: the template body, uploaded to S3 by
 * `cdk deploy`, at most 1 MB; at most 500 resources
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
 */
export const STACK_LIMITS = { templateBytes: 1_000_000, resources: 500 } as const;

/** What one student stack's template weighs. */
export interface ShardMeasure {
  readonly bytes: number;
  readonly resources: number;
}

/** The fullest student stack of a lab, as it will be synthesized. */
export interface LargestShard extends ShardMeasure {
  readonly stackName: string;
  readonly students: number;
  readonly machines: number;
}

/**
 * The fullest student stack, measured before the lab's stacks are built:
 * `measure` synthesizes the fullest student stack, under its own name, with one
 * and with two students whose ids are as long as the longest of the roster; every
 * further student adds what the second added (their machines, key pairs, wait
 * conditions, security group and the schedule's entries), so the fullest
 * stack weighs at most one student's stack plus that much per further student,
 * and the digits its description's count gains.
 */
export function largestShard(
  config: DasklabConfig,
  shards: ReadonlyMap<number, readonly string[]>,
  stackNameOf: (shard: number) => string,
  measure: (studentIds: readonly string[], shard: number) => ShardMeasure,
): LargestShard | undefined {
  const [shard, ids] = [...shards].sort(([a, x], [b, y]) => y.length - x.length || a - b)[0] ?? [];
  if (shard === undefined || ids.length === 0) return undefined;
  const longest = Math.max(...[...shards.values()].flat().map((id) => id.length));
  const probeId = (n: number) => `p${n}`.padEnd(longest, 'x');
  // Probed as that stack: its name is in the template (key pair names, tags, construct paths).
  const one = measure([probeId(1)], shard);
  const two = measure([probeId(1), probeId(2)], shard);
  const n = ids.length;
  return {
    stackName: stackNameOf(shard),
    students: n,
    machines: n * (1 + config.lab!.workersPerStudent),
    // The stack's description counts its students ("lab machines of 1 students"): the count's digits beyond the probe's one.
    bytes: one.bytes + (n - 1) * (two.bytes - one.bytes) + String(n).length - 1,
    resources: one.resources + (n - 1) * (two.resources - one.resources),
  };
}

/** Refuses a lab whose fullest student stack CloudFormation would not accept, naming the limit, the stack and the numbers. */
export function checkLargestShard(config: DasklabConfig, largest: LargestShard | undefined): void {
  if (!largest) return;
  const problems: string[] = [];
  const at = `${largest.stackName}, the fullest student stack, holds ${largest.students} students (${largest.machines} machines)`;
  if (largest.bytes > STACK_LIMITS.templateBytes) {
    problems.push(
      `lab: ${at}: a template of ${largest.bytes.toLocaleString('en-US')} bytes; ` +
        `expected at most ${STACK_LIMITS.templateBytes.toLocaleString('en-US')} bytes, CloudFormation's limit for a template`,
    );
  }
  if (largest.resources > STACK_LIMITS.resources) {
    problems.push(
      `lab: ${at}: ${largest.resources} resources; expected at most ${STACK_LIMITS.resources}, CloudFormation's limit for a stack`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `The lab of ${config.name} is too large for CloudFormation; remove students or workers per student (students go to a stack by a hash of their id)`,
      problems,
    );
  }
}
