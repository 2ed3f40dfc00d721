import * as fs from 'fs';
import * as path from 'path';
import { fullDiff, ResourceImpact, TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { IN_PLACE_SPOT_MACHINE_PROPERTIES, SPOT_MACHINE_RESOURCE_TYPE } from './machine/spot-machine-properties';

/**
 * Properties of AWS::EC2::Instance whose change stops and starts the instance
 * ("Update requires: Some interruptions",
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-instance.html).
 * A restarted machine keeps its disk but gets a new public IP address; its
 * bootstrap applies the new user data and the deploy waits for it again.
 *
 * Kept here because the CloudFormation specification that
 * `@aws-cdk/cloudformation-diff` reads says only whether a property change
 * replaces a resource (yes, no or maybe), not whether it interrupts it.
 */
export const RESTARTING_INSTANCE_PROPERTIES: readonly string[] = [
  'AdditionalInfo', 'Affinity', 'EbsOptimized', 'HostId', 'InstanceType', 'KernelId', 'RamdiskId', 'UserData',
];

/** A stack's template, by stack name. */
export type Templates = ReadonlyMap<string, any>;

/** What a deploy does to a machine that exists before and after it. */
export type MachineUpdate = 'replaced' | 'restarted';

/** A machine of the app: an instance, or a spot machine (a custom resource that launches one). */
interface MachineResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly spot: boolean;
  /** The data of the launch template it launches from, when that is in these templates. */
  readonly launchTemplateData: any;
}

/** The app's machines, by `Name` tag (stable across deploys, unlike stacks and logical ids). */
function machinesOf(templates: Templates): Map<string, MachineResource> {
  const exported = exportedValues(templates);
  const result = new Map<string, MachineResource>();
  for (const [stackName, template] of templates) {
    for (const [logicalId, resource] of Object.entries<any>(template.Resources ?? {})) {
      const spot = resource.Type === SPOT_MACHINE_RESOURCE_TYPE;
      if (resource.Type !== 'AWS::EC2::Instance' && !spot) continue;
      const props = resource.Properties ?? {};
      const name = (props.Tags ?? []).find((t: any) => t.Key === 'Name')?.Value ?? `${stackName}/${logicalId}`;
      const launchTemplate = resolveResource(templates, exported, stackName, spot ? props.LaunchTemplateId : props.LaunchTemplate?.LaunchTemplateId);
      result.set(name, { stackName, logicalId, spot, launchTemplateData: launchTemplate?.Properties?.LaunchTemplateData });
    }
  }
  return result;
}

/**
 * What the next deploy does to each machine that exists both before and after
 * it, by `Name` tag; machines it leaves alone are not in the map.
 *
 * - Replaced: a new logical id or stack; a property change that
 *   CloudFormation's specification says replaces the instance (through
 *   `@aws-cdk/cloudformation-diff`, which reads it); new launch template data
 *   (the instance names the launch template's `LatestVersionNumber`, a value
 *   only known at deploy time, so a template diff sees no change, yet a new
 *   version replaces the instance); for a spot machine, a change of any
 *   property its launcher does not update in place (spot-machine-properties.ts:
 *   the specification knows nothing of a custom resource).
 * - Restarted: an instance whose {@link RESTARTING_INSTANCE_PROPERTIES}
 *   change, UserData among them.
 */
export function machineUpdates(before: Templates, after: Templates): Map<string, MachineUpdate> {
  const old = machinesOf(before);
  const diffs = new Map<string, TemplateDiff>();
  const diffOf = (stackName: string): TemplateDiff => {
    let diff = diffs.get(stackName);
    if (!diff) {
      diff = fullDiff(before.get(stackName) ?? {}, after.get(stackName) ?? {});
      diffs.set(stackName, diff);
    }
    return diff;
  };
  const result = new Map<string, MachineUpdate>();
  for (const [name, machine] of machinesOf(after)) {
    const was = old.get(name);
    if (!was) continue;
    if (was.stackName !== machine.stackName || was.logicalId !== machine.logicalId || was.spot !== machine.spot ||
        JSON.stringify(was.launchTemplateData) !== JSON.stringify(machine.launchTemplateData)) {
      result.set(name, 'replaced');
      continue;
    }
    const diff = diffOf(machine.stackName).resources.changes[machine.logicalId];
    if (!diff?.isDifferent) continue;
    const changed = Object.keys(diff.propertyUpdates);
    if (machine.spot) {
      if (changed.some((p) => !IN_PLACE_SPOT_MACHINE_PROPERTIES.includes(p))) result.set(name, 'replaced');
    } else {
      const impacts = Object.entries(diff.propertyUpdates).map(([property, update]) => instanceImpact(property, update.changeImpact));
      if (impacts.includes('replaced')) result.set(name, 'replaced');
      else if (impacts.includes('restarted')) result.set(name, 'restarted');
    }
  }
  return new Map([...result].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * What a change of one instance property does, from the specification's
 * verdict: 'yes' replaces; 'maybe' is how the specification marks the
 * properties AWS's page gives as "Some interruptions" (UserData,
 * InstanceType, ...) besides the ones that replace only in some cases, so a
 * 'maybe' outside {@link RESTARTING_INSTANCE_PROPERTIES} counts as a
 * replacement, to warn rather than surprise.
 */
function instanceImpact(property: string, impact: ResourceImpact | undefined): MachineUpdate | undefined {
  if (impact === ResourceImpact.WILL_REPLACE) return 'replaced';
  if (RESTARTING_INSTANCE_PROPERTIES.includes(property)) return 'restarted';
  if (impact === ResourceImpact.MAY_REPLACE) return 'replaced';
  return undefined;
}

/** Names of the machines the next deploy replaces. */
export function replacedMachines(before: Templates, after: Templates): string[] {
  return [...machineUpdates(before, after)].filter(([, u]) => u === 'replaced').map(([name]) => name);
}

/** Names of the machines the next deploy stops and starts. */
export function restartedMachines(before: Templates, after: Templates): string[] {
  return [...machineUpdates(before, after)].filter(([, u]) => u === 'restarted').map(([name]) => name);
}

/** Export name → {stack, value}, over all templates. */
function exportedValues(templates: Templates): Map<string, { stackName: string; value: any }> {
  const values = new Map<string, { stackName: string; value: any }>();
  for (const [stackName, template] of templates) {
    for (const output of Object.values<any>(template.Outputs ?? {})) {
      const exportName = output.Export?.Name;
      if (typeof exportName === 'string') values.set(exportName, { stackName, value: output.Value });
    }
  }
  return values;
}

/** The resource a `Ref`, `Fn::GetAtt` or `Fn::ImportValue` points to, when it is in these templates. */
function resolveResource(
  templates: Templates,
  exported: Map<string, { stackName: string; value: any }>,
  stackName: string,
  reference: any,
): any {
  if (!reference || typeof reference !== 'object') return undefined;
  if (typeof reference['Fn::ImportValue'] === 'string') {
    const value = exported.get(reference['Fn::ImportValue']);
    return value && resolveResource(templates, exported, value.stackName, value.value);
  }
  const logicalId = reference.Ref ?? reference['Fn::GetAtt']?.[0];
  return typeof logicalId === 'string' ? templates.get(stackName)?.Resources?.[logicalId] : undefined;
}

/** The templates of a cloud assembly directory (`cdk.out`), or none if there is none yet. */
export function readTemplates(outdir: string): Map<string, any> {
  const templates = new Map<string, any>();
  let manifest: any;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  } catch {
    return templates;
  }
  for (const artifact of Object.values<any>(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const file = path.join(outdir, artifact.properties.templateFile);
    if (fs.existsSync(file)) {
      templates.set(artifact.displayName ?? artifact.properties.templateFile, JSON.parse(fs.readFileSync(file, 'utf8')));
    }
  }
  return templates;
}

/** At most 20 names, then how many more. */
function listed(names: string[]): string[] {
  const shown = names.length > 20 ? [...names.slice(0, 20), `... and ${names.length - 20} more`] : names;
  return shown.map((name) => `  - ${name}`);
}

/**
 * The warning synth prints when the new templates would replace or restart
 * machines that the previous synth (the `cdk.out` a deploy used) had: plainly,
 * naming them.
 */
export function replacementWarning(before: Templates, after: Templates): string | undefined {
  const updates = machineUpdates(before, after);
  const replaced = [...updates].filter(([, u]) => u === 'replaced').map(([name]) => name);
  const restarted = [...updates].filter(([, u]) => u === 'restarted').map(([name]) => name);
  const lines: string[] = [];
  if (replaced.length > 0) {
    lines.push(
      `dasklab: WARNING: compared with the previous synth in cdk.out, the next deploy REPLACES ${replaced.length} machine(s).`,
      'A replaced machine starts over from a new disk: files on it are lost, and its IP address and host keys change.',
      ...listed(replaced),
    );
  }
  if (restarted.length > 0) {
    lines.push(
      `dasklab: WARNING: compared with the previous synth in cdk.out, the next deploy RESTARTS ${restarted.length} machine(s).`,
      'A restarted machine is stopped and started: it keeps its disk, gets a new public IP address, applies the new settings and verifies itself again before the deploy completes.',
      ...listed(restarted),
    );
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}
