/**
 * Every IAM policy document in a CloudFormation template, with where it sits
 * and whom it applies to, and its statements in one normalized form.
 *
 * The checks against IAM's catalogue and the evaluation of what each role may
 * do both start here.
 */

/** What a policy document is for. */
export type PolicyKind =
  /** An identity policy: what its principals may do (IAM::Policy, IAM::ManagedPolicy, a role's inline policy). */
  | 'identity'
  /** A role's trust policy: who may assume it. */
  | 'trust'
  /** A resource policy: who may use the resource it is attached to (a KMS key policy, a bucket policy, ...). */
  | 'resource';

/** One policy document of a template. */
export interface PolicyDocumentSite {
  /** Logical id of the resource that holds the document. */
  readonly logicalId: string;
  /** CloudFormation type of that resource. */
  readonly resourceType: string;
  /** Where in the resource: e.g. `Properties.PolicyDocument`, `Properties.Policies[0].PolicyDocument`. */
  readonly path: string;
  readonly kind: PolicyKind;
  /**
   * Logical ids of the roles (and users, groups) an identity policy applies to:
   * the role itself for an inline policy or trust policy, the `Ref`s of
   * `Roles`/`Users`/`Groups` for IAM::Policy and IAM::ManagedPolicy. Empty for
   * resource policies and for principals outside the template.
   */
  readonly principals: readonly string[];
  readonly document: any;
}

/** A statement with every list-or-single field as a list. */
export interface NormalizedStatement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** `Action` as written (may hold wildcards); empty when the statement uses NotAction. */
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  /** `Resource` entries as written (strings or intrinsic functions); empty when absent. */
  readonly resources: readonly unknown[];
  readonly notResources: readonly unknown[];
  /** `Principal` as written (trust and resource policies), or undefined. */
  readonly principal?: unknown;
  /** `Condition` as written: operator -> key -> value(s). */
  readonly condition: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** Resource-policy properties by resource type: which property holds the document. */
const RESOURCE_POLICY_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::KMS::Key': 'KeyPolicy',
  'AWS::S3::BucketPolicy': 'PolicyDocument',
  'AWS::SQS::QueuePolicy': 'PolicyDocument',
  'AWS::SNS::TopicPolicy': 'PolicyDocument',
  'AWS::SecretsManager::ResourcePolicy': 'ResourcePolicy',
  'AWS::ECR::Repository': 'RepositoryPolicyText',
};

/** Logical ids named by `{"Ref": id}` entries of a list. */
function refsOf(list: unknown): string[] {
  return Array.isArray(list) ? list.flatMap((x: any) => (x && typeof x.Ref === 'string' ? [x.Ref] : [])) : [];
}

/** Every policy document in `template`. A document written as a string (JSON text) is parsed. */
export function policyDocumentsOf(template: any): PolicyDocumentSite[] {
  const sites: PolicyDocumentSite[] = [];
  for (const [logicalId, resource] of Object.entries<any>(template?.Resources ?? {})) {
    const type: string = resource.Type;
    const props = resource.Properties ?? {};
    const add = (path: string, kind: PolicyKind, principals: string[], document: unknown) => {
      if (document !== undefined) {
        sites.push({ logicalId, resourceType: type, path, kind, principals, document: typeof document === 'string' ? JSON.parse(document) : document });
      }
    };
    switch (type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add('Properties.PolicyDocument', 'identity', [...refsOf(props.Roles), ...refsOf(props.Users), ...refsOf(props.Groups)], props.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
      case 'AWS::IAM::User':
      case 'AWS::IAM::Group':
        if (type === 'AWS::IAM::Role') {
          add('Properties.AssumeRolePolicyDocument', 'trust', [logicalId], props.AssumeRolePolicyDocument);
        }
        (Array.isArray(props.Policies) ? props.Policies : []).forEach((p: any, i: number) => {
          add(`Properties.Policies[${i}].PolicyDocument`, 'identity', [logicalId], p?.PolicyDocument);
        });
        break;
      default:
        if (Object.hasOwn(RESOURCE_POLICY_PROPERTIES, type)) {
          const property = RESOURCE_POLICY_PROPERTIES[type];
          add(`Properties.${property}`, 'resource', [], props[property]);
        }
    }
  }
  return sites;
}

/** A value or list of values as a list. */
function listOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The statements of a policy document, normalized. */
export function statementsOf(document: any): NormalizedStatement[] {
  return listOf(document?.Statement).map((s: any) => ({
    sid: s.Sid,
    effect: s.Effect,
    actions: listOf(s.Action) as string[],
    notActions: listOf(s.NotAction) as string[],
    resources: listOf(s.Resource),
    notResources: listOf(s.NotResource),
    principal: s.Principal ?? s.NotPrincipal,
    condition: s.Condition ?? {},
  }));
}

/** Every identity statement that applies to a principal (a role's logical id), with its site. */
export function identityStatementsOf(template: any, principal: string): Array<{ site: PolicyDocumentSite; statement: NormalizedStatement }> {
  return policyDocumentsOf(template)
    .filter((site) => site.kind === 'identity' && site.principals.includes(principal))
    .flatMap((site) => statementsOf(site.document).map((statement) => ({ site, statement })));
}
