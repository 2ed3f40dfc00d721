/**
 * Rules that check what a template refers to: every `Ref`, `Fn::GetAtt`,
 * `DependsOn` and condition names something the template has, and every
 * `Fn::ImportValue` names an export of another stack of the same app.
 * CloudFormation rejects a template (or a deploy) that breaks any of these.
 */
import { Finding } from './findings';
import { describeResolved, EXAMPLE_PSEUDO_PARAMETERS, literalOf, resolveString } from './intrinsics';
import { forEachIntrinsic } from './resource-schema-rules';

/** A stack of an app: its name and template. */
export interface AppStack {
  readonly stackName: string;
  readonly template: any;
}

/** A rule over one stack of an app (the other stacks are there for imports). */
export type ReferenceRule = (stack: AppStack, app: readonly AppStack[]) => Finding[];

/**
 * CloudFormation's pseudo parameters.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html
 */
export const PSEUDO_PARAMETERS: ReadonlySet<string> = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);

/** Every `Ref` (and `${Name}` in Fn::Sub) names a resource, a parameter or a pseudo parameter. */
export const refTargetsExist: ReferenceRule = ({ template }) => {
  const known = (name: string) => PSEUDO_PARAMETERS.has(name) || Object.hasOwn(template.Resources ?? {}, name) || Object.hasOwn(template.Parameters ?? {}, name);
  const findings: Finding[] = [];
  forEachIntrinsic(template, (fn, args, path) => {
    if (fn === 'Ref' && (typeof args !== 'string' || !known(args))) {
      findings.push({ rule: 'ref-target', path, message: `Ref ${JSON.stringify(args)} names no resource, parameter or pseudo parameter of this template` });
    }
    if (fn === 'Fn::Sub') {
      const text = Array.isArray(args) ? args[0] : args;
      const own: Record<string, unknown> = Array.isArray(args) && typeof args[1] === 'object' && args[1] !== null ? args[1] : {};
      for (const [, name] of typeof text === 'string' ? text.matchAll(/\$\{([^!}][^}]*)\}/g) : []) {
        if (!name.includes('.') && !Object.hasOwn(own, name) && !known(name)) {
          findings.push({ rule: 'ref-target', path, message: `Fn::Sub names \${${name}}, which is no resource, parameter or pseudo parameter of this template` });
        }
      }
    }
  });
  return findings;
};

/** Every `DependsOn` names a resource of the template, and not the resource itself. */
export const dependsOnTargetsExist: ReferenceRule = ({ template }) =>
  Object.entries<any>(template.Resources ?? {}).flatMap(([logicalId, resource]) => {
    const dependsOn: unknown[] = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    return dependsOn
      .filter((target) => typeof target !== 'string' || !Object.hasOwn(template.Resources, target) || target === logicalId)
      .map((target) => ({ rule: 'depends-on-target', logicalId, path: `Resources.${logicalId}.DependsOn`, message: `DependsOn ${JSON.stringify(target)} is not another resource of this template` }));
  });

/** Every condition a resource, output or Fn::If names is defined under Conditions. */
export const conditionsExist: ReferenceRule = ({ template }) => {
  const defined = (name: unknown) => typeof name === 'string' && Object.hasOwn(template.Conditions ?? {}, name);
  const findings: Finding[] = [];
  for (const section of ['Resources', 'Outputs'] as const) {
    for (const [logicalId, entry] of Object.entries<any>(template[section] ?? {})) {
      if (entry?.Condition !== undefined && !defined(entry.Condition)) {
        findings.push({ rule: 'condition-target', logicalId, path: `${section}.${logicalId}.Condition`, message: `condition ${JSON.stringify(entry.Condition)} is not defined under Conditions` });
      }
    }
  }
  forEachIntrinsic(template, (fn, args, path) => {
    if (fn === 'Fn::If' && !(Array.isArray(args) && defined(args[0]))) {
      findings.push({ rule: 'condition-target', path, message: `Fn::If names condition ${JSON.stringify(Array.isArray(args) ? args[0] : args)}, which is not defined under Conditions` });
    }
  });
  return findings;
};

/** The pseudo parameters of a stack in the example environment. */
function pseudoOf(stackName: string): Record<string, string> {
  return { ...EXAMPLE_PSEUDO_PARAMETERS, 'AWS::StackName': stackName };
}

/** Export names of a stack's outputs, resolved as far as synth can. */
export function exportNamesOf(stack: AppStack): string[] {
  return Object.values<any>(stack.template?.Outputs ?? {}).flatMap((output) => {
    const name = output?.Export?.Name === undefined ? undefined : literalOf(resolveString(output.Export.Name, pseudoOf(stack.stackName)));
    return name === undefined ? [] : [name];
  });
}

/** Every `Fn::ImportValue` names an export of another stack of the same app (CloudFormation cannot import from the stack itself). */
export const importsHaveExports: ReferenceRule = (stack, app) => {
  const exported = new Map<string, string>();
  for (const other of app) {
    if (other.stackName === stack.stackName) continue;
    for (const name of exportNamesOf(other)) {
      exported.set(name, other.stackName);
    }
  }
  const findings: Finding[] = [];
  forEachIntrinsic(stack.template, (fn, args, path) => {
    if (fn !== 'Fn::ImportValue') return;
    const resolved = resolveString(args, pseudoOf(stack.stackName));
    const name = literalOf(resolved);
    if (name === undefined) {
      findings.push({ rule: 'import-export', path, message: `Fn::ImportValue of ${resolved ? describeResolved(resolved) : JSON.stringify(args)}: the export name is not known at synth, so it cannot be checked` });
    } else if (!exported.has(name)) {
      findings.push({ rule: 'import-export', path, message: `Fn::ImportValue ${JSON.stringify(name)} is no export of another stack of this app` });
    }
  });
  return findings;
};

/** Every rule of this module. */
export const TEMPLATE_REFERENCE_RULES: Readonly<Record<string, ReferenceRule>> = {
  refTargetsExist,
  dependsOnTargetsExist,
  conditionsExist,
  importsHaveExports,
};

/** The findings of every rule of this module over one stack of an app. */
export function checkTemplateReferences(stack: AppStack, app: readonly AppStack[]): Finding[] {
  return Object.values(TEMPLATE_REFERENCE_RULES).flatMap((rule) => rule(stack, app));
}
