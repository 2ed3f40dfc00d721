import { MAX_STUDENTS, MAX_WORKERS_PER_STUDENT } from '../../lib/config';
import { LAB_SHARDS, shardOf } from '../../lib/lab/lab-stacks';
import { rosterOf } from './apps';
import limits from './cfn-limits.json';
import { leastSquares } from './stats';
import { AppShape } from './template-shape';

/**
 * How large a class fits CloudFormation's per-stack quotas. A lab spreads its
 * students over LAB_SHARDS stacks by a hash of their ids, so the fullest stack,
 * not the average one, meets a quota first. From the synthesized labs, each
 * shard stack is a point (students in it, its bytes / resources); a line
 * through them gives the cost of one student and of an empty shard. The
 * projection then hashes rosters s1..sN, as the bench's labs do, and finds the
 * largest N whose fullest shard stays within the quotas.
 */

export interface PerStudent {
  workersPerStudent: number;
  bytes: number;
  resources: number;
  /** Measured from a synthesized lab, or projected from the measured ones. */
  basis: 'measured' | 'projected';
}

export interface CapacityRow extends PerStudent {
  machinesPerStudent: number;
  /** Largest class (s1..sN) whose fullest shard fits every quota. */
  maxStudents: number;
  limitedBy: 'bytes' | 'resources';
  /** What the config accepts (lab-schema). */
  configAccepts: number;
  /** The fullest shard at the config's maximum class, in percent of the tighter quota. */
  fullestShardAtConfigMaxPercent: number;
}

export interface LabCapacity {
  /** Stacks a lab's students are spread over. */
  shards: number;
  emptyShard: { bytes: number; resources: number };
  rows: CapacityRow[];
  method: string;
}

/** Students per shard for the roster s1..sN. */
export function shardLoads(students: number): number[] {
  const loads = new Array<number>(LAB_SHARDS + 1).fill(0);
  for (const id of rosterOf(students)) loads[shardOf(id)]++;
  return loads.slice(1);
}

/** Per-student bytes and resources from one synthesized lab's shard stacks. */
function perStudentOf(shape: AppShape, students: number): { bytes: number; resources: number; baseBytes: number; baseResources: number } {
  const loads = shardLoads(students);
  const points = shape.stacks
    .map((s) => {
      const m = /-Lab-(\d+)$/.exec(s.stack);
      return m ? { students: loads[Number(m[1]) - 1], bytes: s.bytes, resources: s.resources } : undefined;
    })
    .filter((p): p is { students: number; bytes: number; resources: number } => p !== undefined);
  const bytes = leastSquares(points.map((p) => ({ x: p.students, y: p.bytes })));
  const resources = leastSquares(points.map((p) => ({ x: p.students, y: p.resources })));
  return { bytes: bytes.slope, resources: resources.slope, baseBytes: bytes.intercept, baseResources: resources.intercept };
}

/**
 * `single`: the largest synthesized lab of one machine per student;
 * `clusters`: a synthesized lab of per-student clusters, if any.
 */
export function labCapacity(
  single: { shape: AppShape; students: number },
  clusters?: { shape: AppShape; students: number; workersPerStudent: number },
): LabCapacity {
  const one = perStudentOf(single.shape, single.students);
  const perStudent: PerStudent[] = [];
  // A student cluster costs a per-cluster overhead (its security group and
  // rules) plus one machine per member; a machine is taken to cost what a
  // lab's single machine does.
  let clusterOverhead: { bytes: number; resources: number } | undefined;
  let measuredCluster: PerStudent | undefined;
  if (clusters) {
    const c = perStudentOf(clusters.shape, clusters.students);
    const members = 1 + clusters.workersPerStudent;
    clusterOverhead = { bytes: c.bytes - members * one.bytes, resources: c.resources - members * one.resources };
    measuredCluster = { workersPerStudent: clusters.workersPerStudent, bytes: c.bytes, resources: c.resources, basis: 'measured' };
  }
  for (let w = 0; w <= MAX_WORKERS_PER_STUDENT; w++) {
    if (w === 0) perStudent.push({ workersPerStudent: 0, bytes: one.bytes, resources: one.resources, basis: 'measured' });
    else if (measuredCluster && w === measuredCluster.workersPerStudent) perStudent.push(measuredCluster);
    else if (clusterOverhead) {
      perStudent.push({
        workersPerStudent: w,
        bytes: (1 + w) * one.bytes + clusterOverhead.bytes,
        resources: (1 + w) * one.resources + clusterOverhead.resources,
        basis: 'projected',
      });
    }
  }
  const base = { bytes: one.baseBytes, resources: one.baseResources };
  const atMost = 20000;
  const rows = perStudent.map((p): CapacityRow => {
    const fits = (fullest: number) => ({
      bytes: base.bytes + fullest * p.bytes <= limits.templateBytes,
      resources: base.resources + fullest * p.resources <= limits.resources,
    });
    const loads = new Array<number>(LAB_SHARDS + 1).fill(0);
    let fullest = 0;
    let maxStudents = 0;
    let limitedBy: 'bytes' | 'resources' = 'bytes';
    for (let n = 1; n <= atMost; n++) {
      const shard = shardOf(`s${n}`);
      fullest = Math.max(fullest, ++loads[shard]);
      const f = fits(fullest);
      if (!f.bytes || !f.resources) {
        limitedBy = !f.bytes ? 'bytes' : 'resources';
        break;
      }
      maxStudents = n;
    }
    const atConfigMax = Math.max(...shardLoads(MAX_STUDENTS));
    const percent = Math.max(
      (100 * (base.bytes + atConfigMax * p.bytes)) / limits.templateBytes,
      (100 * (base.resources + atConfigMax * p.resources)) / limits.resources,
    );
    return {
      ...p,
      bytes: Math.round(p.bytes),
      resources: Math.round(p.resources * 10) / 10,
      machinesPerStudent: 1 + p.workersPerStudent,
      maxStudents,
      limitedBy,
      configAccepts: MAX_STUDENTS,
      fullestShardAtConfigMaxPercent: Math.round(percent),
    };
  });
  return {
    shards: LAB_SHARDS,
    emptyShard: { bytes: Math.round(base.bytes), resources: Math.round(base.resources) },
    rows,
    method:
      `least-squares lines of shard-stack bytes and resources over students per shard (${LAB_SHARDS} shards, rosters s1..sN); ` +
      'per-student clusters not synthesized are projected as (1 + workers) machines plus the measured per-cluster overhead; ' +
      'a lab schedule (role, policy, two schedules per shard) is not included',
  };
}
