import limits from './cfn-limits.json';
import { CloudAssembly, readCloudAssembly } from './cloud-assembly';
import { analyseCreation } from './critical-path';
import { CreationTimes, isMachine } from './creation-times';

/**
 * Section 2, per app: the shape of each stack's template (resources, bytes,
 * outputs, how close to CloudFormation's quotas) and its creation estimate
 * (longest chain in resources and seconds, waves of machine creations).
 */

export interface StackShape {
  stack: string;
  resources: number;
  bytes: number;
  outputs: number;
  parameters: number;
  instances: number;
  /** Percent of CloudFormation's per-stack quotas (cfn-limits.json). */
  percentOfLimit: { resources: number; bytes: number; outputs: number };
  /** Longest chain in resources, upstream stacks included. */
  chainResources: number;
  /** Longest chain within the stack alone. */
  ownChainResources: number;
  /** Estimated seconds from the start of the deploy until this stack is complete. */
  completeSeconds: number;
  /** Of which, waiting for the stacks it depends on. */
  upstreamSeconds: number;
  waves: number;
}

export interface AppShape {
  app: string;
  label: string;
  /** Its machines boot from the app's baked image, which the deploy builds first. */
  baked?: boolean;
  stacks: StackShape[];
  totals: { stacks: number; resources: number; bytes: number; instances: number };
  /** The app's longest chain: the last stack to complete. */
  chainResources: number;
  estimatedSeconds: number;
  /** The same with every bootstrap at the stated figure (cfn-creation-seconds.json), for when the twin's is too optimistic. */
  estimatedSecondsStatedBootstrap?: number;
  waves: number;
  /** The chain behind estimatedSeconds, upstream first. */
  criticalPath: string[];
  /** The fullest stack relative to CloudFormation's quotas. */
  fullest: { stack: string; percent: number; by: 'resources' | 'bytes' | 'outputs' };
  /** Stacks above 80% of a quota. */
  nearLimits: string[];
}

const pct = (value: number, limit: number) => Math.round((1000 * value) / limit) / 10;

export function shapeOfAssembly(
  app: { id: string; label: string },
  assembly: CloudAssembly,
  times: CreationTimes,
  statedTimes?: CreationTimes,
): AppShape {
  const { stacks: timings } = analyseCreation(assembly, times);
  const stacks: StackShape[] = timings.map((t) => {
    const s = assembly.stacks.get(t.stack)!;
    const resources = Object.values<any>(s.resources); // eslint-disable-line @typescript-eslint/no-explicit-any
    const outputs = Object.keys(s.template.Outputs ?? {}).length;
    return {
      stack: t.stack,
      resources: resources.length,
      bytes: s.bytes,
      outputs,
      parameters: Object.keys(s.template.Parameters ?? {}).length,
      instances: resources.filter((r) => isMachine(r.Type)).length,
      percentOfLimit: {
        resources: pct(resources.length, limits.resources),
        bytes: pct(s.bytes, limits.templateBytes),
        outputs: pct(outputs, limits.outputs),
      },
      chainResources: t.chainResources,
      ownChainResources: t.ownChainResources,
      completeSeconds: Math.round(t.completeSeconds),
      upstreamSeconds: Math.round(t.startSeconds),
      waves: t.waves,
    };
  });
  const last = timings.reduce((a, b) => (b.completeSeconds > a.completeSeconds ? b : a));
  let fullest: AppShape['fullest'] = { stack: stacks[0].stack, percent: -1, by: 'resources' };
  for (const s of stacks) {
    for (const by of ['resources', 'bytes', 'outputs'] as const) {
      if (s.percentOfLimit[by] > fullest.percent) fullest = { stack: s.stack, percent: s.percentOfLimit[by], by };
    }
  }
  return {
    app: app.id,
    label: app.label,
    stacks,
    totals: {
      stacks: stacks.length,
      resources: stacks.reduce((n, s) => n + s.resources, 0),
      bytes: stacks.reduce((n, s) => n + s.bytes, 0),
      instances: stacks.reduce((n, s) => n + s.instances, 0),
    },
    chainResources: Math.max(...stacks.map((s) => s.chainResources)),
    estimatedSeconds: Math.round(last.completeSeconds),
    estimatedSecondsStatedBootstrap: statedTimes
      ? Math.round(Math.max(...analyseCreation(assembly, statedTimes).stacks.map((t) => t.completeSeconds)))
      : undefined,
    waves: Math.max(...stacks.map((s) => s.waves)),
    criticalPath: last.criticalPath,
    fullest,
    nearLimits: stacks
      .filter((s) => Math.max(s.percentOfLimit.resources, s.percentOfLimit.bytes, s.percentOfLimit.outputs) >= 80)
      .map((s) => s.stack),
  };
}

/** Reads an app's cdk.out and shapes it. */
export function shapeOfApp(app: { id: string; label: string }, outDir: string, times: CreationTimes, statedTimes?: CreationTimes): AppShape {
  return shapeOfAssembly(app, readCloudAssembly(outDir), times, statedTimes);
}
