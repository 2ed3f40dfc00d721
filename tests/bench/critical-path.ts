import { CloudAssembly, collectReferences, dependsOnOf, tagOf } from './cloud-assembly';
import { CreationTimes, isMachine, WAIT_CONDITION } from './creation-times';

/**
 * The creation order CloudFormation must follow, and how long it takes.
 *
 * A resource waits for every resource it names (DependsOn, Ref, Fn::GetAtt,
 * Fn::Sub); a stack waits until every stack it depends on is complete (the CDK
 * orders stacks with Fn::ImportValue between them, e.g. a lab's shard stacks
 * after <name>-Lab-Shared). Independent resources are created in parallel, so
 * the time to create an app is its longest chain, weighted by typical creation
 * times. A "wave" is a round of machine creations: a machine that depends on
 * another machine (its IP, say) starts a second wave.
 */

export interface ResourceTiming {
  stack: string;
  logicalId: string;
  type: string;
  seconds: number;
  /** Seconds from the start of the deploy until the resource is complete. */
  finish: number;
  /** Resources on the longest chain ending here, upstream stacks included. */
  chain: number;
  /** EC2 instances on the chain ending here. */
  waves: number;
  /** The resource (stack/logicalId) that determined this one's start. */
  predecessor?: string;
}

export interface StackTiming {
  stack: string;
  /** When the stack can start: every stack it depends on is complete. */
  startSeconds: number;
  /** When its last resource is complete. */
  completeSeconds: number;
  /** Longest chain, in resources, upstream stacks included. */
  chainResources: number;
  /** Longest chain within this stack alone, in resources. */
  ownChainResources: number;
  waves: number;
  /** The chain that determines completeSeconds, upstream first, as "Type LogicalId (s)". */
  criticalPath: string[];
}

const key = (stack: string, id: string) => `${stack}/${id}`;

/** The role of the machine a wait condition waits for, through its DependsOn. */
function waitedRole(resources: Record<string, any>, resource: any): string | undefined { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const dep of dependsOnOf(resource)) {
    if (isMachine(resources[dep]?.Type ?? '')) return tagOf(resources[dep], 'dasklab:role');
  }
  return undefined;
}

/** Times every resource and stack of the assembly. */
export function analyseCreation(assembly: CloudAssembly, times: CreationTimes): { resources: Map<string, ResourceTiming>; stacks: StackTiming[] } {
  const timings = new Map<string, ResourceTiming>();
  const stackTimings = new Map<string, StackTiming>();
  const visiting = new Set<string>();

  const stackOf = (name: string) => {
    const s = assembly.stacks.get(name);
    if (!s) throw new Error(`unknown stack ${name}`);
    return s;
  };

  function timeStack(name: string, path: string[] = []): StackTiming {
    const done = stackTimings.get(name);
    if (done) return done;
    if (path.includes(name)) throw new Error(`stack dependency cycle: ${[...path, name].join(' -> ')}`);
    const stack = stackOf(name);
    const imported = new Set<string>();
    for (const r of Object.values<any>(stack.resources)) { // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const exportName of collectReferences(r.Properties ?? {}).imports) {
        const exp = assembly.exports.get(exportName);
        if (exp && exp.stack !== stack.name) imported.add(exp.stack);
      }
    }
    const upstream = [...new Set([...stack.dependsOnStacks, ...imported])].map((s) => timeStack(s, [...path, name]));
    const gate = upstream.reduce<StackTiming | undefined>((best, s) => (!best || s.completeSeconds > best.completeSeconds ? s : best), undefined);
    const start = gate?.completeSeconds ?? 0;
    const chainBefore = Math.max(0, ...upstream.map((s) => s.chainResources));
    const wavesBefore = Math.max(0, ...upstream.map((s) => s.waves));
    const gateEnd = gate ? lastOf(gate.stack) : undefined;
    /** Longest chain within this stack ending at each resource. */
    const ownChains = new Map<string, number>();

    function timeResource(id: string): ResourceTiming {
      const k = key(name, id);
      const done = timings.get(k);
      if (done) return done;
      if (visiting.has(k)) throw new Error(`resource dependency cycle at ${k}`);
      visiting.add(k);
      const resource = stack.resources[id];
      const refs = collectReferences(resource.Properties ?? {});
      const deps = new Set([...dependsOnOf(resource), ...[...refs.refs].filter((r) => r in stack.resources && r !== id)]);
      let begin = start;
      let predecessor = gateEnd;
      let chain = chainBefore;
      let waves = wavesBefore;
      let ownChain = 0;
      for (const dep of deps) {
        const t = timeResource(dep);
        if (t.finish > begin) {
          begin = t.finish;
          predecessor = key(name, dep);
        }
        chain = Math.max(chain, t.chain);
        waves = Math.max(waves, t.waves);
        ownChain = Math.max(ownChain, ownChains.get(key(name, dep)) ?? 0);
      }
      // An import from a stack that is not a dependency would be an error at deploy; timed like one anyway.
      for (const exp of refs.imports) {
        const found = assembly.exports.get(exp);
        for (const r of found?.resources ?? []) {
          const t = timings.get(key(found!.stack, r));
          if (t && t.finish > begin) {
            begin = t.finish;
            predecessor = key(found!.stack, r);
          }
        }
      }
      const role = resource.Type === WAIT_CONDITION ? waitedRole(stack.resources, resource) : undefined;
      const seconds = times.secondsOf(resource.Type, role);
      const timing: ResourceTiming = {
        stack: name,
        logicalId: id,
        type: resource.Type,
        seconds,
        finish: begin + seconds,
        chain: chain + 1,
        waves: waves + (isMachine(resource.Type) ? 1 : 0),
        predecessor,
      };
      ownChains.set(k, ownChain + 1);
      visiting.delete(k);
      timings.set(k, timing);
      return timing;
    }

    const all = Object.keys(stack.resources).map(timeResource);
    const last = all.reduce<ResourceTiming | undefined>((best, t) => (!best || t.finish > best.finish ? t : best), undefined);
    const result: StackTiming = {
      stack: name,
      startSeconds: start,
      completeSeconds: last?.finish ?? start,
      chainResources: Math.max(chainBefore, ...all.map((t) => t.chain)),
      ownChainResources: Math.max(0, ...ownChains.values()),
      waves: Math.max(wavesBefore, ...all.map((t) => t.waves)),
      criticalPath: last ? pathTo(key(name, last.logicalId)) : [],
    };
    stackTimings.set(name, result);
    return result;
  }

  /** The last-finishing resource of a timed stack. */
  function lastOf(stack: string): string | undefined {
    let best: ResourceTiming | undefined;
    for (const t of timings.values()) if (t.stack === stack && (!best || t.finish > best.finish)) best = t;
    return best ? key(stack, best.logicalId) : undefined;
  }

  function pathTo(k: string): string[] {
    const steps: string[] = [];
    for (let at: string | undefined = k; at; at = timings.get(at)?.predecessor) {
      const t = timings.get(at)!;
      steps.unshift(`${t.type.replace(/^AWS::/, '')} ${t.stack}/${t.logicalId} (${t.seconds} s)`);
      if (steps.length > 200) break;
    }
    return steps;
  }

  for (const name of assembly.stacks.keys()) timeStack(name);
  return { resources: timings, stacks: [...assembly.stacks.keys()].map((n) => stackTimings.get(n)!) };
}
