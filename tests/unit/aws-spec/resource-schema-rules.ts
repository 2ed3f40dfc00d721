/**
 * Rules that check a template's resources against the CloudFormation
 * specification in `@aws-cdk/aws-service-spec` (the CDK's own database of
 * resource types, properties, required properties and GetAtt attributes, built
 * from CloudFormation's registry schemas).
 *
 * Each rule is a pure function of a template and the database, returning its
 * findings. Values written as intrinsic functions are not known at synth and
 * pass; literal values are checked all the way down into nested property types.
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { Property, PropertyType, Resource, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';
import { Finding } from './findings';
import { isIntrinsic } from './intrinsics';

export type { SpecDatabase };

/** The specification database (about 2 s to load: load it once per test file). */
export function loadSpec(): SpecDatabase {
  return loadAwsServiceSpecSync();
}

/** A rule over one template. */
export type SpecRule = (template: any, spec: SpecDatabase) => Finding[];

/**
 * The CDK's version-reporting resource. CloudFormation accepts it; it is not
 * a registry type, so the specification does not list it.
 */
const CDK_METADATA = 'AWS::CDK::Metadata';

/** Keys a resource entry may have besides `Type` (CloudFormation's template anatomy). */
const RESOURCE_ATTRIBUTES = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata', 'DeletionPolicy', 'UpdateReplacePolicy', 'CreationPolicy', 'UpdatePolicy']);

/** True for `Custom::Name` and `AWS::CloudFormation::CustomResource`: their properties are the handler's own. */
export function isCustomResourceType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/** The specification of a resource type, or undefined. */
export function resourceSpec(spec: SpecDatabase, type: string): Resource | undefined {
  return spec.lookup('resource', 'cloudFormationType', 'equals', type)[0];
}

/** Each resource of the template with its specification, skipping custom resources and unknown types. */
function specifiedResources(template: any, spec: SpecDatabase): Array<{ logicalId: string; resource: any; resourceSpec: Resource }> {
  return Object.entries<any>(template?.Resources ?? {}).flatMap(([logicalId, resource]) => {
    const found = isCustomResourceType(resource.Type) ? undefined : resourceSpec(spec, resource.Type);
    return found ? [{ logicalId, resource, resourceSpec: found }] : [];
  });
}

// ---------------------------------------------------------------------------
// Walking literal property values with their declared types
// ---------------------------------------------------------------------------

/** A literal object whose keys are the properties of a resource or of a nested property type. */
interface ObjectVisit {
  readonly logicalId: string;
  readonly path: string;
  readonly value: Record<string, unknown>;
  /** `AWS::EC2::Instance` or `AWS::EC2::Instance.BlockDeviceMapping`. */
  readonly typeName: string;
  readonly properties: Readonly<Record<string, Property>>;
}

/** A literal property value with its declared type. */
interface ValueVisit {
  readonly logicalId: string;
  readonly path: string;
  readonly value: unknown;
  readonly type: PropertyType;
}

interface Visitor {
  object?(visit: ObjectVisit): void;
  value?(visit: ValueVisit): void;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The type definition a `ref` type points at. */
function definitionOf(spec: SpecDatabase, type: PropertyType): TypeDefinition | undefined {
  return type.type === 'ref' ? spec.get('typeDefinition', type.reference) : undefined;
}

/**
 * Of a union's member types, the one a literal value is written as: by its
 * JSON kind and, among object types, the definition that knows most of its keys.
 */
function unionMemberFor(spec: SpecDatabase, value: unknown, types: readonly PropertyType[]): PropertyType | undefined {
  const candidates = types.filter((t) => kindProblem(value, t) === undefined);
  if (candidates.length <= 1 || !isPlainObject(value)) {
    return candidates[0];
  }
  const score = (t: PropertyType) => {
    const def = definitionOf(spec, t);
    return def ? Object.keys(value).filter((k) => Object.hasOwn(def.properties, k)).length : -1;
  };
  return [...candidates].sort((a, b) => score(b) - score(a))[0];
}

/** Visits a literal value of `type` and everything literal inside it. */
function walkValue(spec: SpecDatabase, logicalId: string, path: string, value: unknown, type: PropertyType, visitor: Visitor): void {
  if (isIntrinsic(value)) {
    return;
  }
  visitor.value?.({ logicalId, path, value, type });
  switch (type.type) {
    case 'array':
      if (Array.isArray(value)) {
        value.forEach((element, i) => walkValue(spec, logicalId, `${path}[${i}]`, element, type.element, visitor));
      }
      break;
    case 'map':
      if (isPlainObject(value)) {
        for (const [key, element] of Object.entries(value)) {
          walkValue(spec, logicalId, `${path}.${key}`, element, type.element, visitor);
        }
      }
      break;
    case 'ref': {
      const def = definitionOf(spec, type);
      if (def && isPlainObject(value)) {
        walkObject(spec, logicalId, path, value, def.name, def.properties, visitor);
      }
      break;
    }
    case 'union': {
      const member = unionMemberFor(spec, value, type.types);
      if (member) {
        walkValue(spec, logicalId, path, value, member, visitor);
      }
      break;
    }
    default:
  }
}

function walkObject(
  spec: SpecDatabase,
  logicalId: string,
  path: string,
  value: Record<string, unknown>,
  typeName: string,
  properties: Readonly<Record<string, Property>>,
  visitor: Visitor,
): void {
  visitor.object?.({ logicalId, path, value, typeName, properties });
  for (const [name, propertyValue] of Object.entries(value)) {
    const property = properties[name];
    if (property) {
      walkValue(spec, logicalId, `${path}.${name}`, propertyValue, property.type, visitor);
    }
  }
}

/** Walks the properties of every specified resource of a template. */
function walkTemplate(template: any, spec: SpecDatabase, visitor: Visitor): void {
  for (const { logicalId, resource, resourceSpec: rs } of specifiedResources(template, spec)) {
    const props = resource.Properties;
    if (isPlainObject(props)) {
      walkObject(spec, logicalId, `Resources.${logicalId}.Properties`, props, rs.cloudFormationType, rs.properties, visitor);
    }
  }
}

// ---------------------------------------------------------------------------
// Value kinds
// ---------------------------------------------------------------------------

/** The JSON kind of a value, for messages. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

/**
 * Why a literal value cannot be of `type`, or undefined. CloudFormation
 * converts scalars: a number or boolean where a string is expected, and a
 * numeric or "true"/"false" string where a number or boolean is, are accepted.
 */
function kindProblem(value: unknown, type: PropertyType): string | undefined {
  const scalar = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  switch (type.type) {
    case 'string':
    case 'date-time':
      return scalar ? undefined : `expected a string, got a ${kindOf(value)}`;
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) ? undefined : `expected a number, got ${JSON.stringify(value)}`;
    case 'integer':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?[0-9]+$/.test(value)) ? undefined : `expected an integer, got ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false' ? undefined : `expected a boolean, got ${JSON.stringify(value)}`;
    case 'array':
      return Array.isArray(value) ? undefined : `expected a list, got a ${kindOf(value)}`;
    case 'map':
    case 'ref':
    case 'tag':
      return isPlainObject(value) ? undefined : `expected an object, got a ${kindOf(value)}`;
    case 'json':
      return isPlainObject(value) || typeof value === 'string' || Array.isArray(value) ? undefined : `expected a JSON object, got a ${kindOf(value)}`;
    case 'null':
      return value === null ? undefined : `expected null, got a ${kindOf(value)}`;
    case 'union':
      return type.types.some((t) => kindProblem(value, t) === undefined) ? undefined : `expected one of ${type.types.map((t) => t.type).join(', ')}, got a ${kindOf(value)}`;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------

/** Every resource type exists in the specification (custom resources aside). */
export const resourceTypeExists: SpecRule = (template, spec) =>
  Object.entries<any>(template?.Resources ?? {}).flatMap(([logicalId, resource]): Finding[] => {
    const type = resource?.Type;
    if (typeof type !== 'string') {
      return [{ rule: 'spec-resource-type', logicalId, path: `Resources.${logicalId}`, message: 'has no Type' }];
    }
    if (isCustomResourceType(type) || type === CDK_METADATA || resourceSpec(spec, type)) {
      return [];
    }
    return [{ rule: 'spec-resource-type', logicalId, path: `Resources.${logicalId}.Type`, message: `${type} is not a CloudFormation resource type` }];
  });

/** A resource entry has only CloudFormation's resource attributes (Type, Properties, DependsOn, ...). */
export const resourceAttributesKnown: SpecRule = (template) =>
  Object.entries<any>(template?.Resources ?? {}).flatMap(([logicalId, resource]) =>
    Object.keys(resource ?? {})
      .filter((key) => !RESOURCE_ATTRIBUTES.has(key))
      .map((key) => ({ rule: 'spec-resource-attribute', logicalId, path: `Resources.${logicalId}.${key}`, message: `${key} is not a resource attribute; expected one of ${[...RESOURCE_ATTRIBUTES].join(', ')}` })),
  );

/** Every property, at every level of literal nesting, exists for its type. */
export const propertiesKnown: SpecRule = (template, spec) => {
  const findings: Finding[] = [];
  walkTemplate(template, spec, {
    object: ({ logicalId, path, value, typeName, properties }) => {
      for (const name of Object.keys(value)) {
        if (!Object.hasOwn(properties, name)) {
          findings.push({ rule: 'spec-unknown-property', logicalId, path: `${path}.${name}`, message: `${typeName} has no property ${name}; it has ${Object.keys(properties).join(', ')}` });
        }
      }
    },
  });
  return findings;
};

/** Every required property is present, in resources and in literal nested objects. */
export const requiredPropertiesPresent: SpecRule = (template, spec) => {
  const findings: Finding[] = [];
  const check = (logicalId: string, path: string, value: Record<string, unknown>, typeName: string, properties: Readonly<Record<string, Property>>) => {
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && !Object.hasOwn(value, name)) {
        findings.push({ rule: 'spec-required-property', logicalId, path, message: `${typeName} requires ${name}` });
      }
    }
  };
  for (const { logicalId, resource, resourceSpec: rs } of specifiedResources(template, spec)) {
    if (resource.Properties === undefined) {
      check(logicalId, `Resources.${logicalId}`, {}, rs.cloudFormationType, rs.properties);
    }
  }
  walkTemplate(template, spec, { object: ({ logicalId, path, value, typeName, properties }) => check(logicalId, path, value, typeName, properties) });
  return findings;
};

/** Every literal property value is of its declared type (list, object, string, number, boolean) and, for enumerations, an allowed value. */
export const propertyValueTypes: SpecRule = (template, spec) => {
  const findings: Finding[] = [];
  walkTemplate(template, spec, {
    value: ({ logicalId, path, value, type }) => {
      const problem = kindProblem(value, type);
      if (problem) {
        findings.push({ rule: 'spec-value-type', logicalId, path, message: problem });
      } else if ((type.type === 'string' || type.type === 'integer') && type.allowedValues) {
        const allowed: ReadonlyArray<string | number> = type.allowedValues;
        if (!allowed.some((v) => String(v) === String(value))) {
          findings.push({ rule: 'spec-value-type', logicalId, path, message: `${JSON.stringify(value)} is not one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
        }
      }
    },
  });
  return findings;
};

/** Every `Fn::GetAtt` (and `${X.Attr}` in Fn::Sub) names a resource of the template and an attribute its type has. */
export const getAttAttributesExist: SpecRule = (template, spec) => {
  const resources: Record<string, any> = template?.Resources ?? {};
  const findings: Finding[] = [];
  forEachIntrinsic(template, (fn, args, path) => {
    const targets: Array<[string, string]> = [];
    if (fn === 'Fn::GetAtt') {
      const [logicalId, ...attribute] = Array.isArray(args) ? args : typeof args === 'string' ? args.split('.') : [];
      if (typeof logicalId === 'string' && attribute.every((a) => typeof a === 'string')) {
        targets.push([logicalId, attribute.join('.')]);
      }
    } else if (fn === 'Fn::Sub') {
      const text = Array.isArray(args) ? args[0] : args;
      const own = Array.isArray(args) && isPlainObject(args[1]) ? args[1] : {};
      for (const [, name] of typeof text === 'string' ? text.matchAll(/\$\{([^!}][^}]*)\}/g) : []) {
        const dot = name.indexOf('.');
        if (dot > 0 && !Object.hasOwn(own, name)) {
          targets.push([name.slice(0, dot), name.slice(dot + 1)]);
        }
      }
    }
    for (const [logicalId, attribute] of targets) {
      const resource = resources[logicalId];
      if (!resource) {
        findings.push({ rule: 'spec-getatt', path, message: `Fn::GetAtt names ${logicalId}, which is not a resource of this template` });
        continue;
      }
      if (isCustomResourceType(resource.Type)) continue; // a custom resource's attributes are its handler's Data
      const rs = resourceSpec(spec, resource.Type);
      if (rs && !Object.hasOwn(rs.attributes, attribute)) {
        findings.push({ rule: 'spec-getatt', logicalId, path, message: `${resource.Type} has no attribute ${attribute}; it has ${Object.keys(rs.attributes).join(', ') || 'none'}` });
      }
    }
  });
  return findings;
};

/** A custom resource has a ServiceToken (its only property CloudFormation itself requires). */
export const customResourceServiceToken: SpecRule = (template) =>
  Object.entries<any>(template?.Resources ?? {})
    .filter(([, r]) => isCustomResourceType(r.Type) && (r.Properties?.ServiceToken === undefined || r.Properties.ServiceToken === ''))
    .map(([logicalId, r]) => ({ rule: 'spec-custom-resource', logicalId, path: `Resources.${logicalId}.Properties`, message: `${r.Type} requires ServiceToken (the ARN of its Lambda function or SNS topic)` }));

/** Every rule of this module. */
export const RESOURCE_SCHEMA_RULES: Readonly<Record<string, SpecRule>> = {
  resourceTypeExists,
  resourceAttributesKnown,
  propertiesKnown,
  requiredPropertiesPresent,
  propertyValueTypes,
  getAttAttributesExist,
  customResourceServiceToken,
};

/** The findings of every rule of this module over one template. */
export function checkResourceSchemas(template: any, spec: SpecDatabase): Finding[] {
  return Object.values(RESOURCE_SCHEMA_RULES).flatMap((rule) => rule(template, spec));
}

// ---------------------------------------------------------------------------

/** Calls `visit` for every intrinsic function anywhere in a template, with its path. */
export function forEachIntrinsic(node: unknown, visit: (fn: string, args: unknown, path: string) => void, path = ''): void {
  if (Array.isArray(node)) {
    node.forEach((x, i) => forEachIntrinsic(x, visit, `${path}[${i}]`));
  } else if (isPlainObject(node)) {
    if (isIntrinsic(node)) {
      const [fn, args] = Object.entries(node)[0];
      visit(fn, args, path);
    }
    for (const [key, value] of Object.entries(node)) {
      forEachIntrinsic(value, visit, path === '' ? key : `${path}.${key}`);
    }
  }
}
