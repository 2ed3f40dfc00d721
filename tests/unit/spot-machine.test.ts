import { runSimulation } from '@cloud-copilot/iam-simulate';
import { onlyResource, policyStatementsOf, templateOf } from './support';

const ACCOUNT = '111122223333';
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT, 'AWS::Region': 'us-east-1', 'AWS::URLSuffix': 'amazonaws.com' };

/** A policy value with the pseudo parameters, Fn::Join and other resources' ARNs filled in. */
function resolve(node: any): any {
  if (Array.isArray(node)) return node.map(resolve);
  if (node && typeof node === 'object') {
    if ('Ref' in node) return PSEUDO[node.Ref] ?? `ref-${node.Ref}`;
    if ('Fn::Join' in node) return node['Fn::Join'][1].map(resolve).join(node['Fn::Join'][0]);
    if ('Fn::GetAtt' in node) return `arn:aws:iam::${ACCOUNT}:role/${node['Fn::GetAtt'][0]}`;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
  }
  return node;
}

describe('spot launcher role', () => {
  // GIVEN a cluster of spot workers
  const template = templateOf('dasklab-Cluster', { cluster: { workers: 1, spot: true } });
  const { resource: fn } = onlyResource(template, 'AWS::Lambda::Function', (r) => /SpotMachineLauncher/.test(JSON.stringify(r.Properties.Role)));
  const statements = policyStatementsOf(template, fn.Properties.Role['Fn::GetAtt'][0]);
  const SPOT_ROLE = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`;

  /** Whether the launcher's role may make the request, as IAM evaluates its policies. */
  async function mayCreateServiceLinkedRole(resource: string, serviceName: string): Promise<string> {
    const result: any = await runSimulation(
      {
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/launcher`,
          action: 'iam:CreateServiceLinkedRole',
          resource: { resource, accountId: ACCOUNT },
          contextVariables: { 'iam:AWSServiceName': serviceName },
        },
        identityPolicies: [{ name: 'launcher', policy: resolve({ Version: '2012-10-17', Statement: statements }) }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
    return result.result.analysis.result;
  }

  test('may create the spot service-linked role, in the stack\'s partition and account, for spot.amazonaws.com only', () => {
    // THEN one statement allows iam:CreateServiceLinkedRole, on that role alone, with the service named
    const statement = statements.filter((s: any) => JSON.stringify(s.Action).includes('iam:CreateServiceLinkedRole'));
    expect(statement).toEqual([
      expect.objectContaining({
        Action: 'iam:CreateServiceLinkedRole',
        Effect: 'Allow',
        Condition: { StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot']],
        },
      }),
    ]);
  });

  test('IAM allows creating the spot service-linked role and no other', async () => {
    expect(await mayCreateServiceLinkedRole(SPOT_ROLE, 'spot.amazonaws.com')).toBe('Allowed');
    // another service's role, or the spot role's ARN with another service named, is refused
    expect(
      await mayCreateServiceLinkedRole(
        `arn:aws:iam::${ACCOUNT}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
        'elasticloadbalancing.amazonaws.com',
      ),
    ).toBe('ImplicitlyDenied');
    expect(await mayCreateServiceLinkedRole(SPOT_ROLE, 'spotfleet.amazonaws.com')).toBe('ImplicitlyDenied');
    expect(await mayCreateServiceLinkedRole(`arn:aws:iam::999999999999:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`, 'spot.amazonaws.com')).toBe('ImplicitlyDenied');
  });
});
