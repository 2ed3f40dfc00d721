import * as fs from 'fs';
import * as path from 'path';

/**
 * Reads a synthesized cloud assembly (cdk.out): its stack templates, the order
 * CDK deploys them in (manifest dependencies), and the exports one stack
 * imports from another.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface StackTemplate {
  name: string;
  file: string;
  bytes: number;
  template: Json;
  resources: Record<string, Json>;
  /** Stacks that must be deployed before this one (from manifest.json). */
  dependsOnStacks: string[];
}

export interface CloudAssembly {
  dir: string;
  stacks: Map<string, StackTemplate>;
  /** Export name -> the stack exporting it and the resources its value refers to. */
  exports: Map<string, { stack: string; resources: string[] }>;
}

/** What an intrinsic-laden JSON value refers to. */
export interface References {
  /** Logical ids (Ref, Fn::GetAtt, Fn::Sub); may include parameters, filtered by the caller. */
  refs: Set<string>;
  /** Export names of Fn::ImportValue. */
  imports: Set<string>;
}

/** `${Name}` and `${Name.Attr}` in an Fn::Sub string; `${!Literal}` is not a reference. */
function subReferences(text: string, variables: Set<string>, into: References): void {
  for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
    const name = m[1].split('.')[0].trim();
    if (!variables.has(name) && !name.startsWith('AWS::')) into.refs.add(name);
  }
}

/** Collects Ref, Fn::GetAtt, Fn::Sub and Fn::ImportValue references anywhere in `node`. */
export function collectReferences(node: Json, into: References = { refs: new Set(), imports: new Set() }): References {
  if (Array.isArray(node)) {
    for (const item of node) collectReferences(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') {
        if (!value.startsWith('AWS::')) into.refs.add(value);
      } else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(value) ? value[0] : typeof value === 'string' ? value.split('.')[0] : undefined;
        if (typeof target === 'string') into.refs.add(target);
        else collectReferences(value, into);
      } else if (key === 'Fn::Sub') {
        if (typeof value === 'string') subReferences(value, new Set(), into);
        else if (Array.isArray(value) && typeof value[0] === 'string') {
          const vars = (value[1] ?? {}) as Record<string, Json>;
          subReferences(value[0], new Set(Object.keys(vars)), into);
          collectReferences(vars, into);
        }
      } else if (key === 'Fn::ImportValue' && typeof value === 'string') {
        into.imports.add(value);
      } else {
        collectReferences(value, into);
      }
    }
  }
  return into;
}

export function readCloudAssembly(dir: string): CloudAssembly {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const artifacts: Record<string, Json> = manifest.artifacts ?? {};
  const stackIds = Object.keys(artifacts).filter((id) => artifacts[id].type === 'aws:cloudformation:stack');
  const stacks = new Map<string, StackTemplate>();
  for (const id of stackIds) {
    const art = artifacts[id];
    const file = path.join(dir, art.properties?.templateFile ?? `${id}.template.json`);
    const text = fs.readFileSync(file, 'utf8');
    const template = JSON.parse(text);
    const name: string = art.properties?.stackName ?? art.displayName ?? id;
    stacks.set(name, {
      name,
      file,
      bytes: Buffer.byteLength(text),
      template,
      resources: template.Resources ?? {},
      dependsOnStacks: (art.dependencies ?? [])
        .filter((d: string) => stackIds.includes(d))
        .map((d: string) => artifacts[d].properties?.stackName ?? artifacts[d].displayName ?? d),
    });
  }
  const exports = new Map<string, { stack: string; resources: string[] }>();
  for (const stack of stacks.values()) {
    for (const output of Object.values<Json>(stack.template.Outputs ?? {})) {
      const name = output.Export?.Name;
      if (typeof name !== 'string') continue;
      const refs = [...collectReferences(output.Value).refs].filter((r) => r in stack.resources);
      exports.set(name, { stack: stack.name, resources: refs });
    }
  }
  return { dir, stacks, exports };
}

/** DependsOn as a list. */
export function dependsOnOf(resource: Json): string[] {
  const d = resource?.DependsOn;
  return d === undefined ? [] : Array.isArray(d) ? d : [d];
}

/** A tag's literal value on a resource, or undefined. */
export function tagOf(resource: Json, key: string): string | undefined {
  const tags: Json[] = resource?.Properties?.Tags ?? [];
  const found = Array.isArray(tags) ? tags.find((t) => t?.Key === key) : undefined;
  return typeof found?.Value === 'string' ? found.Value : undefined;
}
