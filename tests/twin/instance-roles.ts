/**
 * What each machine's role allows in SSM Parameter Store and S3, read from the
 * synthesized templates (the machine's launch template, its instance profile,
 * its role's policies), for the twin's AWS endpoint to enforce as IAM would.
 */
import { SynthesizedApp } from '../unit/iam-evaluation';
import { IntrinsicValues, resolve } from './template';

type Json = any;

/** SSM actions (without `ssm:`) a role allows on every parameter below `path`, or on the one parameter `name`. */
export interface SsmGrant {
  readonly actions: string[];
  readonly path?: string;
  readonly name?: string;
}

/** Each machine's grants, by `<stack>/<logicalId>`. */
export function ssmGrantsByMachine(templates: Map<string, Json>): Map<string, SsmGrant[]> {
  const grants = new Map<string, SsmGrant[]>();
  const app = appOfMachinesWithRoles(templates, (machine) => grants.set(machine, []));
  for (const machine of app.machines()) {
    const own = ssmGrantsOf(machine.role.statements);
    grants.set(`${machine.stackName}/${machine.logicalId}`, own);
  }
  return grants;
}

/** The SSM grants of a role's statements (their Resources resolved): Allow statements only. */
function ssmGrantsOf(statements: readonly Json[]): SsmGrant[] {
  const own: SsmGrant[] = [];
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') continue;
    const actions = [statement.Action].flat().filter((a: string) => a.startsWith('ssm:')).map((a: string) => a.slice('ssm:'.length));
    if (actions.length === 0) continue;
    for (const resource of [statement.Resource].flat()) {
      if (typeof resource !== 'string') continue;
      const parameter = /:parameter(\/[^*]+)$/.exec(resource)?.[1];
      const path = /:parameter(\/.+)\/\*$/.exec(resource)?.[1];
      if (path) own.push({ actions, path });
      else if (parameter) own.push({ actions, name: parameter });
    }
  }
  return own;
}

/**
 * What one role of the app (not a machine's: an image build's, say) allows in
 * SSM Parameter Store: its inline policies' and its AWS::IAM::Policy
 * resources' statements, their Resources resolved with the twin's values; a
 * Resource the twin cannot resolve (another service's ARN) grants nothing here.
 */
export function ssmGrantsOfRole(templates: Map<string, Json>, stackName: string, roleLogicalId: string, values: Omit<IntrinsicValues, 'stackName'>): SsmGrant[] {
  const resources: Record<string, Json> = templates.get(stackName)?.Resources ?? {};
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${stackName} has no AWS::IAM::Role ${roleLogicalId}`);
  const documents = [
    ...(role.Properties?.Policies ?? []).map((p: Json) => p.PolicyDocument),
    ...Object.values<Json>(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles ?? []).some((x: Json) => x?.Ref === roleLogicalId))
      .map((r) => r.Properties.PolicyDocument),
  ];
  const resolved = (resource: Json): Json => {
    try {
      return resolve(resource, { ...values, stackName });
    } catch {
      return undefined;
    }
  };
  return ssmGrantsOf(documents.flatMap((d) => [d.Statement].flat()).map((s: Json) => ({ ...s, Resource: [s.Resource].flat().map(resolved) })));
}

/**
 * The app, without the instances that have neither an instance profile nor a
 * launch template (the twin's own fixtures): they have no role credentials, so
 * no grants, as on EC2; each is passed to `roleless` as `<stack>/<logicalId>`.
 */
function appOfMachinesWithRoles(templates: Map<string, Json>, roleless: (machine: string) => void): SynthesizedApp {
  const withRoles = [...templates].map(([stackName, template]) => {
    const resources: Record<string, Json> = { ...(template.Resources ?? {}) };
    for (const [logicalId, resource] of Object.entries<Json>(resources)) {
      const props = resource.Properties ?? {};
      if (resource.Type === 'AWS::EC2::Instance' && !props.IamInstanceProfile && !props.LaunchTemplate) {
        roleless(`${stackName}/${logicalId}`);
        delete resources[logicalId];
      }
    }
    return { stackName, template: { ...template, Resources: resources } };
  });
  return new SynthesizedApp(withRoles);
}

/**
 * The S3 objects (`bucket/key`) each machine's role may get (s3:GetObject on
 * an object's ARN, no wildcard), by `<stack>/<logicalId>`. The ARNs are
 * resolved with the twin's own account and region (`values`), as the
 * machines' user data is.
 */
export function s3ObjectGrantsByMachine(templates: Map<string, Json>, values: Omit<IntrinsicValues, 'stackName'>): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  const app = appOfMachinesWithRoles(templates, (machine) => grants.set(machine, []));
  for (const machine of app.machines()) {
    const { stackName, logicalId } = machine.role;
    const objects: string[] = [];
    for (const policy of Object.values<Json>(templates.get(stackName)?.Resources ?? {})) {
      if (policy.Type !== 'AWS::IAM::Policy' || !policy.Properties.Roles.some((r: Json) => r.Ref === logicalId)) continue;
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (statement.Effect !== 'Allow' || ![statement.Action].flat().includes('s3:GetObject')) continue;
        for (const resource of [statement.Resource].flat()) {
          const object = /^arn:aws:s3:::([^/*]+\/[^*]+)$/.exec(resolve(resource, { ...values, stackName }))?.[1];
          if (object) objects.push(object);
        }
      }
    }
    grants.set(`${machine.stackName}/${machine.logicalId}`, objects);
  }
  return grants;
}
