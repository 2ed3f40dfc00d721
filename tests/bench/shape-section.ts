import { BenchApp } from './apps';
import limits from './cfn-limits.json';
import { BootstrapSeconds, CreationTimes, STATED_BAKED_BOOTSTRAP_SECONDS, STATED_BOOTSTRAP_SECONDS } from './creation-times';
import { LabCapacity, labCapacity } from './lab-capacity';
import { heading, renderTable } from './table';
import { AppShape, shapeOfApp } from './template-shape';

/**
 * Section 2: template shape and creation estimate of every synthesized app,
 * and how large a lab fits CloudFormation's per-stack quotas.
 *
 * The goal it reports against: a class of any size is one wave of machine
 * creations, i.e. no machine waits for another machine to be created.
 */

export const GOAL = 'a class of any size is one wave of machine creations: no machine waits for another to be created';

export interface ShapeSection {
  goal: string;
  apps: AppShape[];
  capacity?: LabCapacity;
  creationTimes: ReturnType<CreationTimes['describe']>;
  /** The bootstrap of a baked app's machines (older results have none). */
  bakedBootstrap?: BootstrapSeconds;
  unknownTypes: string[];
  limits: typeof limits;
  errors: string[];
}

/**
 * @param measuredBootstrap the twin's bootstrap by role, for machines that install at boot
 * @param measuredBakedBootstrap the twin's machine booted from its baked image, for baked apps' machines
 */
export function runShapeSection(
  apps: readonly (BenchApp & { outDir?: string })[],
  measuredBootstrap: Partial<Record<string, number>>,
  measuredBakedBootstrap?: number,
): ShapeSection {
  const bootstrap: BootstrapSeconds = { measured: measuredBootstrap, fallback: STATED_BOOTSTRAP_SECONDS };
  const times = new CreationTimes(bootstrap);
  const stated = new CreationTimes({ measured: {}, fallback: STATED_BOOTSTRAP_SECONDS });
  // A baked app's machines run only their own setup at boot; its deploy waits for the image's build instead.
  const baked: BootstrapSeconds = {
    measured: measuredBakedBootstrap === undefined ? {} : { standalone: measuredBakedBootstrap, student: measuredBakedBootstrap },
    fallback: STATED_BAKED_BOOTSTRAP_SECONDS,
  };
  const bakedTimes = new CreationTimes(baked);
  const bakedStated = new CreationTimes({ measured: {}, fallback: STATED_BAKED_BOOTSTRAP_SECONDS });
  const shapes: AppShape[] = [];
  const errors: string[] = [];
  for (const app of apps) {
    if (!app.outDir) {
      errors.push(`${app.id}: not synthesized`);
      continue;
    }
    try {
      const shape = app.baked ? { ...shapeOfApp(app, app.outDir, bakedTimes, bakedStated), baked: true } : shapeOfApp(app, app.outDir, times, stated);
      if (shape.totals.instances !== app.machines) {
        errors.push(`${app.id}: expected ${app.machines} machines, the templates have ${shape.totals.instances}`);
      }
      shapes.push(shape);
    } catch (err) {
      errors.push(`${app.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let capacity: LabCapacity | undefined;
  for (const type of bakedTimes.unknownTypes) times.unknownTypes.add(type);
  const singles = apps.filter((a) => !a.baked && a.students !== undefined && a.machines === a.students && shapes.some((s) => s.app === a.id));
  const largest = singles.sort((a, b) => b.students! - a.students!)[0];
  const clusterLab = apps.find((a) => a.students !== undefined && a.machines > a.students && shapes.some((s) => s.app === a.id));
  if (largest) {
    try {
      capacity = labCapacity(
        { shape: shapes.find((s) => s.app === largest.id)!, students: largest.students! },
        clusterLab
          ? {
              shape: shapes.find((s) => s.app === clusterLab.id)!,
              students: clusterLab.students!,
              workersPerStudent: clusterLab.machines / clusterLab.students! - 1,
            }
          : undefined,
      );
    } catch (err) {
      errors.push(`capacity: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return {
    goal: GOAL,
    apps: shapes,
    capacity,
    creationTimes: times.describe(),
    bakedBootstrap: baked,
    unknownTypes: [...times.unknownTypes].sort(),
    limits,
    errors,
  };
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);

export function formatShapeSection(s: ShapeSection): string {
  const lines = [heading('2. Template shape and creation estimate')];
  lines.push(
    renderTable(
      ['app', 'stacks', 'resources', 'KiB', 'machines', 'chain', 'est. s', `est. s (${STATED_BOOTSTRAP_SECONDS} s boot)`, 'waves', 'fullest stack (% of quota)'],
      s.apps.map((a) => [
        a.app,
        a.totals.stacks,
        a.totals.resources,
        kb(a.totals.bytes),
        a.totals.instances,
        a.chainResources,
        a.estimatedSeconds,
        a.estimatedSecondsStatedBootstrap,
        a.waves,
        `${a.fullest.stack} ${a.fullest.percent}% ${a.fullest.by}`,
      ]),
    ),
  );
  lines.push(`goal: ${s.goal}; ${s.apps.filter((a) => a.waves > 1).map((a) => `${a.app} has ${a.waves} waves`).join(', ') || 'every app is one wave'}`);
  lines.push('', 'per stack (the largest lab stacks only: the rest are alike):');
  const rows = s.apps.flatMap((a) => {
    const stacks = a.stacks.length > 4 ? [...a.stacks].sort((x, y) => y.bytes - x.bytes).slice(0, 2) : a.stacks;
    const shared = a.stacks.filter((st) => /-Lab-Shared$/.test(st.stack) && !stacks.includes(st));
    return [...shared, ...stacks].map((st) => [
      a.app,
      st.stack,
      st.resources,
      kb(st.bytes),
      st.outputs,
      st.instances,
      st.chainResources,
      st.ownChainResources,
      st.completeSeconds,
      st.upstreamSeconds,
      st.waves,
      `${Math.max(st.percentOfLimit.resources, st.percentOfLimit.bytes, st.percentOfLimit.outputs)}%`,
    ]);
  });
  lines.push(
    renderTable(['app', 'stack', 'resources', 'KiB', 'outputs', 'machines', 'chain', 'own chain', 'est. s', 'upstream s', 'waves', 'of quota'], rows),
  );
  for (const a of s.apps) lines.push(`${a.app} critical path: ${a.criticalPath.map((p) => p.replace(/ [^ ]+\/[^ ]+ /, ' ')).join(' -> ')}`);
  const wc = s.creationTimes.bootstrap;
  const measured = Object.entries(wc.measured).map(([role, v]) => `${role} ${v} s`).join(', ');
  lines.push(`wait conditions (the bootstrap): ${measured ? `measured in the twin: ${measured}; ` : ''}other roles ${wc.fallback} s (stated)`);
  if (s.bakedBootstrap) {
    const bakedMeasured = s.bakedBootstrap.measured.standalone;
    lines.push(`a baked app's machines: ${bakedMeasured !== undefined ? `${bakedMeasured} s, measured in the twin` : `${s.bakedBootstrap.fallback} s (stated)`}; its image build as stated in cfn-creation-seconds.json`);
  }
  lines.push(`creation times: tests/bench/cfn-creation-seconds.json (typical figures, sources stated there)${s.unknownTypes.length ? `; unknown types at ${s.creationTimes.defaultSeconds} s: ${s.unknownTypes.join(', ')}` : ''}`);
  if (s.capacity) {
    lines.push('', `largest lab within CloudFormation's per-stack quotas (${limits.resources} resources, ${limits.templateBytes} bytes), by machines per student:`);
    lines.push(
      renderTable(
        ['workers/student', 'bytes/student', 'resources/student', 'basis', 'max students', 'limited by', 'config accepts', 'fullest stack at 500'],
        s.capacity.rows.map((r) => [r.workersPerStudent, r.bytes, r.resources, r.basis, r.maxStudents, r.limitedBy, r.configAccepts, `${r.fullestShardAtConfigMaxPercent}%`]),
      ),
    );
    lines.push(`empty shard stack: ${s.capacity.emptyShard.bytes} bytes, ${s.capacity.emptyShard.resources} resources; method: ${s.capacity.method}`);
  }
  for (const e of s.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}
