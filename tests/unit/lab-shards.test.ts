/**
 * How a lab's students are split into student stacks (a hash of each id),
 * and addLabStacks' limits: rosters built to land in the stacks a test needs,
 * refused before any stack is built or built without synthesizing the whole
 * app. The weighing itself is tested directly in lab-size.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as labSize from '../../lib/lab/lab-size';
import { addLabStacks, LAB_MACHINE_LIMIT, LAB_SHARDS, labShardStackName, shardOf } from '../../lib/lab/lab-stacks';
import { configOf, testApp } from './support';

/** `count` ids (s00001, s00002, ...) that all hash to student stack `shard`. */
function idsInShard(shard: number, count: number, from = 1): string[] {
  const result: string[] = [];
  for (let i = from; result.length < count; i++) {
    const id = `s${String(i).padStart(5, '0')}`;
    if (shardOf(id) === shard) result.push(id);
  }
  return result;
}

const students = (ids: readonly string[]) => ids.map((id) => ({ id }));

describe('a student\'s stack', () => {
  test('follows from the id alone and never changes between versions (a changed hash would move machines)', () => {
    expect(['alice', 'bob', 'carol', 'student-1', 's0001'].map(shardOf)).toEqual([10, 9, 8, 2, 15]);
  });

  test('is one of 1..LAB_SHARDS, and every one of them is used', () => {
    const seen = new Set(Array.from({ length: 2000 }, (_, i) => shardOf(`student-${i}`)));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: LAB_SHARDS }, (_, i) => i + 1));
  });

  test('is named <name>-Lab-<k>', () => {
    expect(labShardStackName(configOf({ name: 'course' }), 3)).toBe('course-Lab-3');
  });
});

describe('addLabStacks', () => {
  const config = (workersPerStudent: number) => configOf({ name: 'course', lab: { roster: ['a'], workersPerStudent } });
  const refusalOf = (ids: readonly string[], workersPerStudent: number): { message?: string; children: number } => {
    const app = testApp();
    try {
      addLabStacks(app, config(workersPerStudent), students(ids));
    } catch (error) {
      return { message: (error as Error).message, children: app.node.children.length };
    }
    return { children: app.node.children.length };
  };

  test(`more than ${LAB_MACHINE_LIMIT} machines is refused before any stack is built, naming the largest class that fits`, () => {
    expect(refusalOf(idsInShard(3, 801), 0)).toEqual({
      message:
        'The lab of course is too large:\n' +
        '  lab: 801 students with 1 machines each are 801 machines; expected at most 800 machines (with workersPerStudent 0: at most 800 students)',
      children: 0,
    });
    expect(refusalOf(idsInShard(3, 267), 2).message).toBe(
      'The lab of course is too large:\n' +
        '  lab: 267 students with 3 machines each are 801 machines; expected at most 800 machines (with workersPerStudent 2: at most 266 students)',
    );
  });

  test(`exactly ${LAB_MACHINE_LIMIT} machines passes that limit; all in one stack they are then weighed and refused, before any stack is built`, () => {
    const { message, children } = refusalOf(idsInShard(3, 400), 1);
    expect(message).toMatch(/^The lab of course is too large for CloudFormation; .*:\n {2}lab: course-Lab-3, the fullest student stack, holds 400 students \(800 machines\): /);
    expect(children).toBe(0);
  });

  test('students spread over stacks are counted per stack: the fullest is weighed, not the class', () => {
    // 10 students in each of the 16 stacks, 4 workers each: 800 machines in all, 50 in the fullest stack
    const ids = Array.from({ length: LAB_SHARDS }, (_, k) => idsInShard(k + 1, 10)).flat();
    const spy = jest.spyOn(labSize, 'checkLargestShard').mockImplementation(() => {
      throw new Error('weighed');
    });
    try {
      expect(() => addLabStacks(testApp(), config(4), students(ids))).toThrow('weighed');
      expect(spy.mock.calls[0][1]).toEqual(expect.objectContaining({ stackName: 'course-Lab-1', students: 10, machines: 50 }));
    } finally {
      spy.mockRestore();
    }
  });

  describe('a small lab', () => {
    /**
     * 3 students in stack 3, 1 each in stacks 5 and 11, 1 worker each: the app's stacks as built (not
     * synthesized) and the fullest stack as weighed. Built in each test, so that mutation testing sees
     * which test covers what.
     */
    function smallLab() {
      const ids = [...idsInShard(3, 3), ...idsInShard(5, 1), ...idsInShard(11, 1)];
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-shards-'));
      const app = testApp({ outdir });
      const spy = jest.spyOn(labSize, 'checkLargestShard');
      try {
        addLabStacks(app, config(1), students(ids));
        const estimate = spy.mock.calls[0][1];
        const stacks = new Map(app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => [s.stackName, s]));
        return { app, outdir, estimate, stacks };
      } finally {
        spy.mockRestore();
      }
    }

    test('has the shared stack and LAB_SHARDS student stacks, each depending on the shared one', () => {
      const { stacks } = smallLab();
      expect([...stacks.keys()]).toEqual(['course-Lab-Shared', ...Array.from({ length: LAB_SHARDS }, (_, i) => `course-Lab-${i + 1}`)]);
      for (let k = 1; k <= LAB_SHARDS; k++) expect(stacks.get(`course-Lab-${k}`)!.dependencies.map((s) => s.stackName)).toEqual(['course-Lab-Shared']);
    });

    test('puts each student in the stack of their id\'s hash, every student of a stack together', () => {
      const { stacks } = smallLab();
      const counts = new Map([...stacks].map(([name, stack]) => [name, stack.templateOptions.description]));
      for (let k = 1; k <= LAB_SHARDS; k++) {
        const n = k === 3 ? 3 : k === 5 || k === 11 ? 1 : 0;
        expect([k, counts.get(`course-Lab-${k}`)]).toEqual([k, `dasklab course: lab machines of ${n} students`]);
      }
    });

    test('weighs the fullest stack as it is synthesized: its resources and bytes exactly', () => {
      const { app, outdir, estimate } = smallLab();
      const artifact = app.synth().getStackByName('course-Lab-3');
      const bytes = fs.statSync(path.join(outdir, artifact.templateFile)).size;
      expect(estimate).toEqual(
        expect.objectContaining({ stackName: 'course-Lab-3', students: 3, machines: 6, resources: Object.keys(artifact.template.Resources).length, bytes }),
      );
    });
  });

  test('stack 12 of 10 students, as `cdk synth` builds it (construct paths in the metadata), is weighed to the byte', () => {
    // GIVEN 10 students in stack 12 (a name of two digits, a count of two digits), without workers, ids of one
    // length, and the context `cdk synth` passes (path metadata on), which the probes read as the app does
    const ids = idsInShard(12, 10);
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-shards-'));
    const context = process.env.CDK_CONTEXT_JSON;
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:enable-path-metadata': true });
    const spy = jest.spyOn(labSize, 'checkLargestShard');
    try {
      const app = testApp({ outdir });
      // WHEN the lab is built and synthesized
      addLabStacks(app, config(0), students(ids));
      const artifact = app.synth().getStackByName('course-Lab-12');
      // THEN the template carries construct paths, and the estimate is its size exactly
      expect(JSON.stringify(artifact.template)).toContain('"aws:cdk:path":"course-Lab-12/');
      expect(spy.mock.calls[0][1]).toEqual(
        expect.objectContaining({ stackName: 'course-Lab-12', students: 10, bytes: fs.statSync(path.join(outdir, artifact.templateFile)).size }),
      );
    } finally {
      spy.mockRestore();
      if (context === undefined) delete process.env.CDK_CONTEXT_JSON;
      else process.env.CDK_CONTEXT_JSON = context;
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

});
