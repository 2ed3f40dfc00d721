import { describeResolved, literalOf, resolveString, UNKNOWN } from './intrinsics';
import { identityStatementsOf, policyDocumentsOf, statementsOf } from './policy-documents';

describe('intrinsics resolved for matching', () => {
  test('Fn::Join of pseudo parameters is a literal', () => {
    // GIVEN an ARN as the CDK writes it
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':parameter/a/*']] };
    // THEN it resolves to the example environment's ARN
    expect(literalOf(resolveString(arn))).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/a/*');
  });

  test('a resource reference stays unknown, between known parts', () => {
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:::instance/', { Ref: 'Machine' }]] };
    expect(resolveString(arn)).toEqual(['arn:aws:ec2:::instance/', UNKNOWN]);
    expect(literalOf(resolveString(arn))).toBeUndefined();
    expect(describeResolved(resolveString(arn)!)).toBe('arn:aws:ec2:::instance/{?}');
  });

  test('Fn::Sub with pseudo parameters, own variables, attributes and escapes', () => {
    const sub = { 'Fn::Sub': ['arn:${AWS::Partition}:logs:${Where}:${X.Arn}:${!Literal}', { Where: 'eu-west-1' }] };
    expect(resolveString(sub)).toEqual(['arn:aws:logs:eu-west-1:', UNKNOWN, ':${Literal}']);
  });

  test('a list or plain object is not a string', () => {
    expect(resolveString(['a'])).toBeUndefined();
    expect(resolveString({ a: 1, b: 2 })).toBeUndefined();
  });
});

describe('policy documents of a template', () => {
  const template = {
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }] },
          Policies: [{ PolicyName: 'inline', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }] } }],
        },
      },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: { Roles: [{ Ref: 'Role' }], PolicyDocument: { Statement: { Effect: 'Deny', NotAction: 'ec2:*', Resource: ['a', 'b'] } } },
      },
      Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Effect: 'Allow', Action: 'kms:*', Principal: { AWS: 'arn:aws:iam::1:root' }, Resource: '*' }] } } },
      Other: { Type: 'AWS::EC2::VPC', Properties: {} },
    },
  };

  test('finds trust, inline, attached and key policies, with whom they apply to', () => {
    const sites = policyDocumentsOf(template).map((s) => [s.logicalId, s.path, s.kind, s.principals]);
    expect(sites).toEqual([
      ['Role', 'Properties.AssumeRolePolicyDocument', 'trust', ['Role']],
      ['Role', 'Properties.Policies[0].PolicyDocument', 'identity', ['Role']],
      ['Policy', 'Properties.PolicyDocument', 'identity', ['Role']],
      ['Key', 'Properties.KeyPolicy', 'resource', []],
    ]);
  });

  test('statements are normalized to lists', () => {
    const [deny] = statementsOf(template.Resources.Policy.Properties.PolicyDocument);
    expect(deny).toEqual({ sid: undefined, effect: 'Deny', actions: [], notActions: ['ec2:*'], resources: ['a', 'b'], notResources: [], principal: undefined, condition: {} });
  });

  test('a role gets its inline and attached statements, not its trust policy', () => {
    expect(identityStatementsOf(template, 'Role').map(({ statement }) => statement.effect)).toEqual(['Allow', 'Deny']);
  });
});
