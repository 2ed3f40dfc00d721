/**
 * What each machine's role allows in SSM Parameter Store, read from the
 * synthesized templates (the machine's launch template, its instance profile,
 * its role's policies), for the twin's AWS endpoint to enforce as IAM would.
 */
import { SynthesizedApp } from '../unit/iam-evaluation';

type Json = any;

/** SSM actions (without `ssm:`) a role allows on every parameter below `path`. */
export interface SsmGrant {
  readonly actions: string[];
  readonly path: string;
}

/** Each machine's grants, by `<stack>/<logicalId>`. */
export function ssmGrantsByMachine(templates: Map<string, Json>): Map<string, SsmGrant[]> {
  const grants = new Map<string, SsmGrant[]>();
  // An instance with neither an instance profile nor a launch template (the
  // twin's own fixtures) has no role credentials, so no grants, as on EC2.
  const withRoles = [...templates].map(([stackName, template]) => {
    const resources: Record<string, Json> = { ...(template.Resources ?? {}) };
    for (const [logicalId, resource] of Object.entries<Json>(resources)) {
      const props = resource.Properties ?? {};
      if (resource.Type === 'AWS::EC2::Instance' && !props.IamInstanceProfile && !props.LaunchTemplate) {
        grants.set(`${stackName}/${logicalId}`, []);
        delete resources[logicalId];
      }
    }
    return { stackName, template: { ...template, Resources: resources } };
  });
  const app = new SynthesizedApp(withRoles);
  for (const machine of app.machines()) {
    const own: SsmGrant[] = [];
    for (const statement of machine.role.statements) {
      if (statement.Effect !== 'Allow') continue;
      const actions = [statement.Action].flat().filter((a: string) => a.startsWith('ssm:')).map((a: string) => a.slice('ssm:'.length));
      for (const resource of [statement.Resource].flat()) {
        const path = /:parameter(\/.+)\/\*$/.exec(resource)?.[1];
        if (path && actions.length > 0) own.push({ actions, path });
      }
    }
    grants.set(`${machine.stackName}/${machine.logicalId}`, own);
  }
  return grants;
}
