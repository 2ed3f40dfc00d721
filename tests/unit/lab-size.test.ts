/**
 * The weighing of a lab's fullest student stack against CloudFormation's
 * limits (lib/lab/lab-size.ts), called directly with small inputs, just
 * within and just over each limit. No CDK app is built: these are the fast
 * tests of the `lab` module under mutation testing (tests/mutation).
 */
import { ConfigError } from '../../lib/config/errors';
import type { DasklabConfig } from '../../lib/config/schema';
import { checkLargestShard, LargestShard, largestShard, ShardMeasure, STACK_LIMITS } from '../../lib/lab/lab-size';

/** The only fields of a config the weighing reads: the app's name and the workers per student. */
const configWith = (workersPerStudent: number) => ({ name: 'course', lab: { workersPerStudent } }) as unknown as DasklabConfig;

describe('the fullest student stack, estimated from one- and two-student probes', () => {
  const config = configWith(2);
  const nameOf = (shard: number) => `course-Lab-${shard}`;

  /** A fake measure: a stack of n students weighs 1000 + 300 (n - 1) bytes, 10 + 4 (n - 1) resources; records its calls. */
  function fakeMeasure(): { calls: string[][]; shards: number[]; measure: (ids: readonly string[], shard: number) => ShardMeasure } {
    const calls: string[][] = [];
    const shards: number[] = [];
    return {
      calls,
      shards,
      measure: (ids, shard) => {
        calls.push([...ids]);
        shards.push(shard);
        return { bytes: 1000 + 300 * (ids.length - 1), resources: 10 + 4 * (ids.length - 1) };
      },
    };
  }

  test('no student at all: nothing to weigh, and nothing synthesized', () => {
    const { calls, measure } = fakeMeasure();
    expect(largestShard(config, new Map(), nameOf, measure)).toBeUndefined();
    expect(largestShard(config, new Map([[4, []]]), nameOf, measure)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  test('the stack with most students, whatever its number or place in the map, extrapolated from the probes', () => {
    const { measure } = fakeMeasure();
    const shards = new Map([
      [1, ['a']],
      [7, ['b', 'c', 'd', 'e', 'f']],
      [4, ['g', 'h']],
    ]);
    expect(largestShard(config, shards, nameOf, measure)).toEqual<LargestShard>({
      stackName: 'course-Lab-7',
      students: 5,
      machines: 15,
      bytes: 1000 + 4 * 300,
      resources: 10 + 4 * 4,
    });
  });

  test('of two equally full stacks, the lower-numbered one is named', () => {
    const { measure } = fakeMeasure();
    const shards = new Map([
      [5, ['a', 'b']],
      [2, ['c', 'd']],
      [9, ['e']],
    ]);
    expect(largestShard(config, shards, nameOf, measure)?.stackName).toBe('course-Lab-2');
  });

  test('one student alone: the one-student probe, as is', () => {
    const { measure } = fakeMeasure();
    expect(largestShard(config, new Map([[12, ['a']]]), nameOf, measure)).toEqual<LargestShard>({
      stackName: 'course-Lab-12',
      students: 1,
      machines: 3,
      bytes: 1000,
      resources: 10,
    });
  });

  test('the probes\' ids are as long as the longest id of the whole roster, not only of the fullest stack', () => {
    const { calls, measure } = fakeMeasure();
    const shards = new Map([
      [3, ['ab', 'cd', 'ef']],
      [8, ['a-much-longer-id']],
    ]);
    largestShard(config, shards, nameOf, measure);
    expect(calls).toEqual([['p1xxxxxxxxxxxxxx'], ['p1xxxxxxxxxxxxxx', 'p2xxxxxxxxxxxxxx']]);
  });

  test('the probes are the fullest stack itself, whose name is in its template', () => {
    const { shards, measure } = fakeMeasure();
    largestShard(config, new Map([[3, ['a']], [12, ['b', 'c']]]), nameOf, measure);
    expect(shards).toEqual([12, 12]);
  });
});

describe('a lab too large for CloudFormation is refused', () => {
  const config = configWith(0);
  const largest = (bytes: number, resources: number): LargestShard => ({ stackName: 'course-Lab-3', students: 40, machines: 200, bytes, resources });
  const refusal = (bytes: number, resources: number): ConfigError | undefined => {
    try {
      checkLargestShard(config, largest(bytes, resources));
      return undefined;
    } catch (error) {
      return error as ConfigError;
    }
  };
  const heading =
    'The lab of course is too large for CloudFormation; remove students or workers per student (students go to a stack by a hash of their id):';
  const bytesProblem =
    "lab: course-Lab-3, the fullest student stack, holds 40 students (200 machines): a template of 1,000,001 bytes; expected at most 1,000,000 bytes, CloudFormation's limit for a template";
  const resourcesProblem =
    "lab: course-Lab-3, the fullest student stack, holds 40 students (200 machines): 501 resources; expected at most 500, CloudFormation's limit for a stack";

  test('the limits are CloudFormation\'s: 1,000,000 bytes of template, 500 resources', () => {
    expect(STACK_LIMITS).toEqual({ templateBytes: 1_000_000, resources: 500 });
  });

  test('a stack exactly at both limits is accepted, and so is a lab without students', () => {
    expect(refusal(1_000_000, 500)).toBeUndefined();
    expect(() => checkLargestShard(config, undefined)).not.toThrow();
  });

  test('one byte over is refused, naming the stack, its students and machines and both numbers', () => {
    const error = refusal(1_000_001, 500);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toBe(`${heading}\n  ${bytesProblem}`);
  });

  test('one resource over is refused', () => {
    expect(refusal(1_000_000, 501)?.message).toBe(`${heading}\n  ${resourcesProblem}`);
  });

  test('both over: both named, bytes first', () => {
    expect(refusal(1_000_001, 501)?.problems).toEqual([bytesProblem, resourcesProblem]);
  });
});
