import type { Templates } from '../replacement-check';

/** The images an app's templates build: the names of their components, which carry each image's digest. */
export function imagesOf(templates: Templates): string[] {
  const names: string[] = [];
  for (const template of templates.values()) {
    for (const resource of Object.values<any>(template.Resources ?? {})) {
      if (resource.Type === 'AWS::ImageBuilder::Component' && typeof resource.Properties?.Name === 'string') names.push(resource.Properties.Name);
    }
  }
  return names.sort();
}

/**
 * What synth says when the next deploy builds an image (machine.bake): each
 * image whose digest the previous synth (usually the last deploy's) did not
 * have, built before any machine launches from it. AWS gives no build time; its own guidance is 15
 * to 45 minutes for an image of one component.
 */
export function imageBuildNotice(before: Templates, after: Templates): string | undefined {
  const known = new Set(imagesOf(before));
  const built = imagesOf(after).filter((name) => !known.has(name));
  if (built.length === 0) return undefined;
  const why = known.size > 0 ? 'what goes into it differs from the last synth in cdk.out' : 'the last synth in cdk.out had no image';
  return [
    `dasklab: the next deploy BUILDS ${built.length} machine image${built.length === 1 ? '' : 's'} (machine.bake; ${why}) ` +
      'with EC2 Image Builder, before the machines launch from it: allow 15 to 45 minutes more.',
    ...built.map((name) => `  ${name}`),
  ].join('\n');
}
