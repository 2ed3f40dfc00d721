import * as fs from 'fs';
import * as path from 'path';
import { IN_PLACE_SPOT_MACHINE_PROPERTIES, SPOT_MACHINE_RESOURCE_TYPE } from './machine/spot-machine-properties';

/**
 * Properties of AWS::EC2::Instance whose change replaces the instance
 * (CloudFormation's "Update requires: Replacement"). A replaced machine
 * loses its disk, its IP and its host keys.
 */
export const REPLACING_INSTANCE_PROPERTIES = [
  'AvailabilityZone', 'BlockDeviceMappings', 'CpuOptions', 'ElasticGpuSpecifications', 'EnclaveOptions',
  'HibernationOptions', 'ImageId', 'Ipv6AddressCount', 'Ipv6Addresses', 'KeyName', 'LaunchTemplate',
  'LicenseSpecifications', 'NetworkInterfaces', 'PlacementGroupName', 'PrivateIpAddress', 'SecurityGroups',
  'SubnetId', 'Tenancy',
] as const;

/** A stack's template, by stack name. */
export type Templates = ReadonlyMap<string, any>;

/**
 * What decides whether a machine survives a deploy: its stack, its logical id,
 * its replacing properties, and the data of the launch template it launches
 * from (a new launch template version replaces the instance too), keyed by the
 * machine's `Name` tag.
 */
export function machineFingerprints(templates: Templates): Map<string, string> {
  const exported = exportedValues(templates);
  const result = new Map<string, string>();
  for (const [stackName, template] of templates) {
    for (const [logicalId, resource] of Object.entries<any>(template.Resources ?? {})) {
      const spot = resource.Type === SPOT_MACHINE_RESOURCE_TYPE;
      if (resource.Type !== 'AWS::EC2::Instance' && !spot) continue;
      const props = resource.Properties ?? {};
      const name = (props.Tags ?? []).find((t: any) => t.Key === 'Name')?.Value ?? `${stackName}/${logicalId}`;
      const replacing = spot
        ? Object.fromEntries(Object.keys(props).filter((p) => !IN_PLACE_SPOT_MACHINE_PROPERTIES.includes(p)).sort().map((p) => [p, props[p]]))
        : Object.fromEntries(REPLACING_INSTANCE_PROPERTIES.map((p) => [p, props[p]]));
      const launchTemplate = resolveResource(templates, exported, stackName, spot ? props.LaunchTemplateId : props.LaunchTemplate?.LaunchTemplateId);
      result.set(
        name,
        JSON.stringify({
          stackName,
          logicalId,
          replacing,
          launchTemplateData: launchTemplate?.Properties?.LaunchTemplateData,
        }),
      );
    }
  }
  return result;
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

/** Names of machines in both sets whose fingerprint changed: the next deploy replaces them. */
export function replacedMachines(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name)).sort();
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

/**
 * The warning synth prints when the new templates would replace machines that
 * the previous synth (the `cdk.out` a deploy used) had: plainly, naming them.
 */
export function replacementWarning(before: Templates, after: Templates): string | undefined {
  const replaced = replacedMachines(machineFingerprints(before), machineFingerprints(after));
  if (replaced.length === 0) return undefined;
  const shown = replaced.length > 20 ? [...replaced.slice(0, 20), `... and ${replaced.length - 20} more`] : replaced;
  return [
    `dasklab: WARNING: compared with the previous synth in cdk.out, the next deploy REPLACES ${replaced.length} machine(s).`,
    'A replaced machine starts over from a new disk: files on it are lost, and its IP address and host keys change.',
    ...shown.map((name) => `  - ${name}`),
  ].join('\n');
}
