/**
 * IAM policy evaluation over synthesized templates: each role's identity
 * policies, with the template's intrinsics resolved to the ARNs they would
 * have in a test account, region and partition, evaluated by
 * `@cloud-copilot/iam-simulate` (AWS's evaluation logic over its IAM catalogue:
 * an unknown action, resource type or condition key is an error, not a denial).
 */
import { createHash } from 'crypto';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { SynthesizedStack } from './stack-shapes';

/** Where the stacks are resolved to. */
export const TEST_ENV = { account: '111122223333', region: 'eu-west-1', partition: 'aws' } as const;

type Json = any;

/** A logical id in one stack. */
export interface ResourceRef {
  readonly stackName: string;
  readonly logicalId: string;
}

/** One IAM role of a synthesized app, with its identity policies resolved. */
export interface SynthesizedRole extends ResourceRef {
  /** The service that may assume it, e.g. `ec2.amazonaws.com`. */
  readonly service: string;
  /** Its construct path, e.g. `dasklab-Cluster/Fleet/InstanceRole/Role/Resource`. */
  readonly path: string;
  readonly arn: string;
  readonly managedPolicyArns: readonly string[];
  /** Every statement of its inline policies and of the AWS::IAM::Policy resources attached to it. */
  readonly statements: readonly Json[];
}

/** A machine of the app (an instance or a spot machine) and the role it runs as. */
export interface SynthesizedMachine extends ResourceRef {
  /** Its `dasklab:role` tag. */
  readonly machineRole: string;
  readonly instanceId: string;
  readonly arn: string;
  readonly role: SynthesizedRole;
}

const MACHINE_TYPES = ['AWS::EC2::Instance', 'Custom::DasklabSpotMachine'];

/** The made-up physical id of a resource: stable, and distinct per stack and logical id. */
function physicalId(prefix: string, ref: ResourceRef): string {
  return `${prefix}${createHash('sha256').update(`${ref.stackName}/${ref.logicalId}`).digest('hex').slice(0, 17)}`;
}

function arn(service: string, resource: string, opts: { region?: string; account?: string } = {}): string {
  return `arn:${TEST_ENV.partition}:${service}:${opts.region ?? TEST_ENV.region}:${opts.account ?? TEST_ENV.account}:${resource}`;
}

/** An app's stacks, for resolving intrinsics across them. */
export class SynthesizedApp {
  private readonly byName: Map<string, Json>;

  constructor(readonly stacks: readonly SynthesizedStack[]) {
    this.byName = new Map(stacks.map((s) => [s.stackName, s.template]));
  }

  resource(ref: ResourceRef): Json {
    const found = this.byName.get(ref.stackName)?.Resources?.[ref.logicalId];
    if (!found) throw new Error(`no resource ${ref.logicalId} in ${ref.stackName}`);
    return found;
  }

  /** The physical id `Ref` gives for a resource. */
  refOf(ref: ResourceRef): string {
    const type: string = this.resource(ref).Type;
    switch (type) {
      case 'AWS::EC2::Instance':
      case 'Custom::DasklabSpotMachine':
        return physicalId('i-', ref);
      case 'AWS::IAM::Role':
      case 'AWS::IAM::InstanceProfile':
        return `${ref.stackName}-${ref.logicalId}`;
      case 'AWS::EC2::LaunchTemplate':
        return physicalId('lt-', ref);
      case 'AWS::EC2::Subnet':
        return physicalId('subnet-', ref);
      case 'AWS::EC2::SecurityGroup':
        return physicalId('sg-', ref);
      case 'AWS::EC2::KeyPair':
        return `${ref.stackName}-${ref.logicalId}`;
      case 'AWS::Logs::LogGroup':
        return `${ref.stackName}-${ref.logicalId}`;
      case 'AWS::Lambda::Function':
        return `${ref.stackName}-${ref.logicalId}`;
      case 'AWS::ImageBuilder::Component':
        // Ref gives the ARN, with the build version Image Builder assigns.
        return arn('imagebuilder', `component/${String(this.resource(ref).Properties.Name).toLowerCase()}/${this.resource(ref).Properties.Version}/1`);
      default:
        throw new Error(`Ref to ${type} ${ref.logicalId} in ${ref.stackName}: no made-up id for this type`);
    }
  }

  /** What `Fn::GetAtt` gives. */
  getAtt(ref: ResourceRef, attribute: string): string {
    const type: string = this.resource(ref).Type;
    const id = this.refOf(ref);
    if (attribute === 'Arn') {
      if (type === 'AWS::IAM::Role') return arn('iam', `role/${id}`, { region: '' });
      if (type === 'AWS::IAM::InstanceProfile') return arn('iam', `instance-profile/${id}`, { region: '' });
      if (type === 'AWS::Logs::LogGroup') return arn('logs', `log-group:${id}:*`);
      if (type === 'AWS::Lambda::Function') return arn('lambda', `function:${id}`);
      if (type === 'AWS::ImageBuilder::Component') return id;
    }
    if (type === 'AWS::EC2::LaunchTemplate' && attribute === 'LatestVersionNumber') return '1';
    throw new Error(`Fn::GetAtt ${ref.logicalId}.${attribute} (${type}) in ${ref.stackName}: not resolved`);
  }

  /** The stack and value of an export, by name. */
  exported(name: string): { stackName: string; value: Json } {
    for (const s of this.stacks) {
      for (const output of Object.values<Json>(s.template.Outputs ?? {})) {
        if (output.Export?.Name === name) return { stackName: s.stackName, value: output.Value };
      }
    }
    throw new Error(`Fn::ImportValue ${name}: no stack exports it`);
  }

  /** A template value with its intrinsics resolved, as CloudFormation would in the test account. */
  resolve(stackName: string, node: Json): Json {
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean' || node === null) return node;
    if (Array.isArray(node)) return node.map((n) => this.resolve(stackName, n));
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [key] = keys;
      const arg = node[key];
      switch (key) {
        case 'Ref':
          if (arg === 'AWS::Partition') return TEST_ENV.partition;
          if (arg === 'AWS::Region') return TEST_ENV.region;
          if (arg === 'AWS::AccountId') return TEST_ENV.account;
          if (arg === 'AWS::URLSuffix') return 'amazonaws.com';
          if (arg === 'AWS::StackName') return stackName;
          return this.refOf({ stackName, logicalId: arg });
        case 'Fn::GetAtt':
          return this.getAtt({ stackName, logicalId: arg[0] }, arg[1]);
        case 'Fn::Join':
          return (this.resolve(stackName, arg[1]) as Json[]).join(arg[0]);
        case 'Fn::Select':
          return this.resolve(stackName, arg[1])[Number(this.resolve(stackName, arg[0]))];
        case 'Fn::ImportValue': {
          const exported = this.exported(this.resolve(stackName, arg));
          return this.resolve(exported.stackName, exported.value);
        }
        case 'Fn::Sub': {
          const [text, variables] = Array.isArray(arg) ? arg : [arg, {}];
          return (text as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name.startsWith('!')) return `\${${name.slice(1)}}`;
            if (name in variables) return this.resolve(stackName, variables[name]);
            const [logicalId, attribute] = name.split('.');
            return attribute ? this.getAtt({ stackName, logicalId }, attribute) : this.resolve(stackName, { Ref: name });
          });
        }
      }
      if (key.startsWith('Fn::')) throw new Error(`${key} in ${stackName}: not resolved`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(stackName, node[k])]));
  }

  /**
   * The resource a value refers to (`Ref`, `Fn::GetAtt`, or either through
   * `Fn::ImportValue`), for following one resource to another.
   */
  referenced(stackName: string, node: Json): ResourceRef {
    if (node?.Ref) return { stackName, logicalId: node.Ref };
    if (node?.['Fn::GetAtt']) return { stackName, logicalId: node['Fn::GetAtt'][0] };
    if (node?.['Fn::ImportValue']) {
      const exported = this.exported(this.resolve(stackName, node['Fn::ImportValue']));
      return this.referenced(exported.stackName, exported.value);
    }
    throw new Error(`${JSON.stringify(node)} in ${stackName} refers to no resource`);
  }

  /** Every role of the app. */
  roles(): SynthesizedRole[] {
    return this.stacks.flatMap(({ stackName, template }) =>
      Object.keys(template.Resources ?? {})
        .filter((logicalId) => template.Resources[logicalId].Type === 'AWS::IAM::Role')
        .map((logicalId) => this.role({ stackName, logicalId })),
    );
  }

  /** One role, with the statements of its inline policies and of the AWS::IAM::Policy resources attached to it. */
  role(ref: ResourceRef): SynthesizedRole {
    const { stackName, logicalId } = ref;
    const role = this.resource(ref);
    const services = role.Properties.AssumeRolePolicyDocument.Statement.flatMap((s: Json) => [s.Principal?.Service ?? []].flat());
    if (services.length !== 1) throw new Error(`role ${logicalId} in ${stackName} is assumed by ${services.join(', ') || 'no service'}`);
    const attached = Object.values<Json>(this.byName.get(stackName).Resources).filter(
      (p) => p.Type === 'AWS::IAM::Policy' && p.Properties.Roles.some((r: Json) => r.Ref === logicalId),
    );
    const documents = [...(role.Properties.Policies ?? []), ...attached.map((p) => p.Properties)].map((p: Json) => p.PolicyDocument);
    return {
      ...ref,
      service: services[0],
      path: role.Metadata?.['aws:cdk:path'] ?? logicalId,
      arn: this.getAtt(ref, 'Arn'),
      managedPolicyArns: this.resolve(stackName, role.Properties.ManagedPolicyArns ?? []),
      statements: documents.flatMap((d) => this.resolve(stackName, d).Statement),
    };
  }

  /** Every machine of the app, with the role its instance profile holds. */
  machines(): SynthesizedMachine[] {
    const roles = new Map<string, SynthesizedRole>();
    const machines: SynthesizedMachine[] = [];
    for (const { stackName, template } of this.stacks) {
      for (const [logicalId, resource] of Object.entries<Json>(template.Resources ?? {})) {
        if (!MACHINE_TYPES.includes(resource.Type)) continue;
        const ref = { stackName, logicalId };
        const props = resource.Properties;
        let profile = props.IamInstanceProfile;
        let profileStack = stackName;
        if (!profile) {
          const templateNode = props.LaunchTemplate?.LaunchTemplateId ?? props.LaunchTemplateId;
          const launchTemplate = this.referenced(stackName, templateNode);
          profile = this.resource(launchTemplate).Properties.LaunchTemplateData.IamInstanceProfile?.Arn;
          profileStack = launchTemplate.stackName;
        }
        if (!profile) throw new Error(`machine ${logicalId} in ${stackName} has no instance profile`);
        const profileRef = this.referenced(profileStack, profile);
        const roleRef = this.referenced(profileRef.stackName, this.resource(profileRef).Properties.Roles[0]);
        const roleKey = `${roleRef.stackName}/${roleRef.logicalId}`;
        if (!roles.has(roleKey)) roles.set(roleKey, this.role(roleRef));
        const role = roles.get(roleKey)!;
        const tags: Json[] = props.Tags ?? [];
        const instanceId = this.refOf(ref);
        machines.push({
          ...ref,
          machineRole: tags.find((t) => t.Key === 'dasklab:role')?.Value ?? '',
          instanceId,
          arn: instanceArn(instanceId),
          role,
        });
      }
    }
    return machines;
  }
}

/** The ARN of an instance in the test account. */
export function instanceArn(instanceId: string): string {
  return arn('ec2', `instance/${instanceId}`);
}

/** The ARN of an SSM parameter in the test account, from its name (`/a/b`). */
export function parameterArn(name: string): string {
  return arn('ssm', `parameter${name}`);
}

/** One request, as IAM would see it. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /**
   * The instance whose role credentials sign the request (sets
   * `ec2:SourceInstanceARN`, as EC2 does for instance-role credentials).
   * @default - none
   */
  readonly fromInstance?: string;
  /** The tags of the resource acted on (`aws:ResourceTag/*`, `ec2:ResourceTag/*`). @default - none */
  readonly resourceTags?: Record<string, string>;
  /** Tags the request sets (`aws:RequestTag/*`, `aws:TagKeys`). @default - none */
  readonly requestTags?: Record<string, string>;
  /** Further context keys. @default - none */
  readonly context?: Record<string, string | string[]>;
}

export type IamDecision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/**
 * IAM's decision on a request by a role, from its identity policies (no
 * resource policy, SCP or boundary: the account as a new user has it).
 * Throws on what the simulator rejects (an unknown action, a resource of the
 * wrong type, a malformed policy).
 */
export async function decide(role: SynthesizedRole, request: IamRequest): Promise<IamDecision> {
  const context: Record<string, string | string[]> = { ...request.context };
  if (request.fromInstance) context['ec2:SourceInstanceARN'] = request.fromInstance;
  const instance = /^arn:[^:]+:ec2:[^:]*:[^:]*:instance\/(i-[0-9a-z]+)$/.exec(request.resource);
  if (instance) context['ec2:InstanceID'] = instance[1];
  for (const [key, value] of Object.entries(request.resourceTags ?? {})) {
    context[`aws:ResourceTag/${key}`] = value;
    if (request.action.startsWith('ec2:')) context[`ec2:ResourceTag/${key}`] = value;
  }
  if (request.requestTags) {
    context['aws:TagKeys'] = Object.keys(request.requestTags);
    for (const [key, value] of Object.entries(request.requestTags)) context[`aws:RequestTag/${key}`] = value;
  }
  const principal = request.fromInstance
    ? `arn:${TEST_ENV.partition}:sts::${TEST_ENV.account}:assumed-role/${role.arn.split('/').pop()}/${request.fromInstance.split('/').pop()}`
    : role.arn;
  const response = await runSimulation(
    {
      identityPolicies: [{ name: role.logicalId, policy: { Version: '2012-10-17', Statement: role.statements as any } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: { action: request.action, principal, resource: { accountId: TEST_ENV.account, resource: request.resource }, contextVariables: context },
    },
    {},
  );
  if (response.resultType === 'error') {
    throw new Error(`${role.path}: ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  }
  return response.overallResult as IamDecision;
}
