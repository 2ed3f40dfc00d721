import { entryMatchesFormat, patternsIntersect, resourceEntryTokens, arnFormatTokens } from './arn-patterns';
import { loadIamCatalogue } from './iam-catalogue';
import {
  actionsExist,
  actionsSupportResources,
  conditionKeysApplyToActions,
  conditionKeysExist,
  conditionOperatorsSuitKeys,
  IamCatalogue,
  IamRule,
  parseOperator,
  requiredResourceTypesAllowed,
  resourceArnsHaveTypes,
  trustPoliciesWellFormed,
} from './iam-rules';
import { UNKNOWN } from './intrinsics';

/** An ARN as the CDK writes it: `arn:<partition>:<service>:<region>:<account>:<rest>`. */
function arn(service: string, rest: unknown[]): unknown {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', ...rest]] };
}

/** A role with a trust policy and one attached policy of `statements`. */
function roleWith(statements: unknown[], trust: unknown = { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } }): any {
  return {
    Resources: {
      Machine: { Type: 'AWS::EC2::Instance', Properties: {} },
      Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [trust] } } },
      Policy: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'Role' }], PolicyDocument: { Version: '2012-10-17', Statement: statements } } },
    },
  };
}

/** Statements that pass every rule: what a careful least-privilege policy looks like. */
const GOOD_STATEMENTS = [
  { Sid: 'Describe', Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
  {
    Sid: 'StopTagged',
    Effect: 'Allow',
    Action: ['ec2:StopInstances', 'ec2:StartInstances'],
    Resource: arn('ec2', ['instance/', { Ref: 'Machine' }]),
    Condition: { StringEquals: { 'aws:ResourceTag/app': 'x', 'ec2:InstanceType': 't3.medium' }, Bool: { 'aws:SecureTransport': 'true' } },
  },
  { Sid: 'TagOnLaunch', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: arn('ec2', ['instance/*']), Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['app'] } } },
  { Sid: 'Params', Effect: 'Allow', Action: ['ssm:GetParameter*'], Resource: arn('ssm', ['parameter/app/*']), Condition: { ArnEquals: { 'ec2:SourceInstanceARN': 'arn:aws:ec2:us-east-1:123456789012:instance/i-1' } } },
  { Sid: 'TagSelf', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: arn('ec2', ['instance/*']), Condition: { StringEquals: { 'ec2:SourceInstanceARN': arn('ec2', ['instance/${ec2:InstanceID}']) } } },
  {
    Sid: 'Launch',
    Effect: 'Allow',
    Action: 'ec2:RunInstances',
    Resource: ['instance/*', 'volume/*', 'network-interface/*', 'security-group/*', 'subnet/*'].map((r) => arn('ec2', [r])).concat([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, '::image/*']] }]),
  },
  { Sid: 'Pass', Effect: 'Allow', Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': ['Role', 'Arn'] }, Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } } },
  { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arn('logs', ['log-group:/app/x:*']) },
];

/** Each broken template, by what is wrong with it. */
const BAD: Record<string, any> = {
  unknownAction: roleWith([{ Effect: 'Allow', Action: ['ec2:DescribeInstance', 'ec2:Describe*', 'ec3:RunInstances', 'RunInstances'], Resource: '*' }]),
  unknownConditionKey: roleWith([
    { Sid: 'A', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: arn('ec2', ['instance/*']), Condition: { StringEquals: { 'aws:ARN': '${ec2:SourceInstanceARN}', 'ssm:ResourceTag/app': 'x' } } },
  ]),
  keyNotInContext: roleWith([{ Sid: 'A', Effect: 'Allow', Action: ['ec2:StopInstances', 'ec2:DescribeInstances'], Resource: '*', Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } } }]),
  badOperator: roleWith([
    {
      Sid: 'A',
      Effect: 'Allow',
      Action: 'ec2:StopInstances',
      Resource: '*',
      Condition: { NumericEquals: { 'aws:ResourceTag/app': '1' }, StringEquals: { 'aws:TagKeys': ['a'] }, 'ForAnyValue:StringEquals': { 'ec2:InstanceType': ['t3.medium'] }, StringEqualz: { 'aws:SourceIp': 'x' } },
    },
  ]),
  arnOfNoType: roleWith([{ Sid: 'A', Effect: 'Allow', Action: 'ec2:StopInstances', Resource: [arn('ec2', ['instances/*']), arn('ec2', ['instance/*'])] }]),
  actionOnUnsupportedType: roleWith([
    { Sid: 'A', Effect: 'Allow', Action: ['ec2:StopInstances', 'ec2:CreateTags'], Resource: arn('ec2', ['volume/*']) },
    { Sid: 'B', Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: arn('ec2', ['instance/*']) },
  ]),
  missingRequiredType: roleWith([{ Sid: 'A', Effect: 'Allow', Action: 'ec2:RunInstances', Resource: [arn('ec2', ['instance/*']), arn('ec2', ['subnet/*'])] }]),
  badTrust: roleWith(GOOD_STATEMENTS, { Effect: 'Allow', Action: 'sts:TagSession', Principal: { Service: ['ec2', 'lambda.amazonaws.com'] } }),
};

let catalogue: IamCatalogue;
beforeAll(async () => {
  catalogue = await loadIamCatalogue([roleWith(GOOD_STATEMENTS), ...Object.values(BAD)]);
});

function messages(rule: IamRule, template: any): string[] {
  return rule(template, catalogue).map((f) => f.message);
}

describe.each<[string, IamRule]>([
  ['actionsExist', actionsExist],
  ['conditionKeysExist', conditionKeysExist],
  ['conditionKeysApplyToActions', conditionKeysApplyToActions],
  ['conditionOperatorsSuitKeys', conditionOperatorsSuitKeys],
  ['resourceArnsHaveTypes', resourceArnsHaveTypes],
  ['actionsSupportResources', actionsSupportResources],
  ['requiredResourceTypesAllowed', requiredResourceTypesAllowed],
  ['trustPoliciesWellFormed', trustPoliciesWellFormed],
])('%s', (_name, rule) => {
  test('passes a careful least-privilege policy', () => {
    expect(messages(rule, roleWith(GOOD_STATEMENTS))).toEqual([]);
  });
});

describe('each rule catches its broken template', () => {
  test('an unknown action, service or form; a wildcard that names actions passes', () => {
    expect(messages(actionsExist, BAD.unknownAction)).toEqual([
      'statement 0: ec2:DescribeInstance names no action of ec2',
      'statement 0: ec3:RunInstances: IAM has no service prefix "ec3"',
      'statement 0: "RunInstances" is not an action "service:Name"',
    ]);
  });

  test('an unknown condition key, and a key of another service than the actions', () => {
    expect(messages(conditionKeysExist, BAD.unknownConditionKey)).toEqual([
      'statement A: IAM has no condition key aws:ARN',
      'statement A: ssm:ResourceTag/app is a key of ssm, but the statement\'s actions are of ec2',
    ]);
  });

  test('a key that is not in an action\'s request context', () => {
    expect(messages(conditionKeysApplyToActions, BAD.keyNotInContext)).toEqual([
      'statement A: ec2:CreateAction is not in the request context of ec2:StopInstances, so StringEquals on it never matches for that action',
      'statement A: ec2:CreateAction is not in the request context of ec2:DescribeInstances, so StringEquals on it never matches for that action',
    ]);
  });

  test('an operator of the wrong type, a set operator on a single-valued key and none on a multivalued one, an unknown operator', () => {
    expect(messages(conditionOperatorsSuitKeys, BAD.badOperator)).toEqual([
      expect.stringMatching(/^statement A: NumericEquals does not compare String values \(aws:ResourceTag\/app\); expected one of StringEquals/),
      'statement A: StringEquals: aws:TagKeys is multivalued (ArrayOfString); compare it with ForAllValues: or ForAnyValue:',
      'statement A: ForAnyValue:StringEquals: ec2:InstanceType is single-valued (String); ForAnyValue is for multivalued keys, and on a single-valued key it can match requests without the key',
      expect.stringMatching(/^statement A: StringEqualz is not a condition operator/),
    ]);
  });

  test('an ARN that matches no resource type of the service', () => {
    expect(messages(resourceArnsHaveTypes, BAD.arnOfNoType)).toEqual(['statement A: arn:aws:ec2:us-east-1:123456789012:instances/* matches no resource type of ec2']);
  });

  test('an action on a resource type it does not support, and a wildcard-only action on an ARN', () => {
    expect(messages(actionsSupportResources, BAD.actionOnUnsupportedType)).toEqual([
      'statement A: ec2:StopInstances acts on instance; none of the statement\'s resources (arn:aws:ec2:us-east-1:123456789012:volume/*) is one',
      'statement B: ec2:DescribeInstances supports no resource-level permissions; its Resource must be "*"',
    ]);
  });

  test('an action allowed without a resource type every request of it names', () => {
    expect(messages(requiredResourceTypesAllowed, BAD.missingRequiredType)).toEqual([
      expect.stringMatching(/^ec2:RunInstances needs a image in every request, and no statement of Role allows it on one/),
      expect.stringMatching(/^ec2:RunInstances needs a network-interface in every request/),
      expect.stringMatching(/^ec2:RunInstances needs a security-group in every request/),
    ]);
  });

  test('a trust policy with a malformed service principal and no AssumeRole', () => {
    expect(messages(trustPoliciesWellFormed, BAD.badTrust)).toEqual([
      'statement 0: service principal "ec2" is not of the form "<service>.amazonaws.com"',
      'statement 0: a trust policy statement allows sts:AssumeRole (or a web identity or SAML variant); it has sts:TagSession',
    ]);
  });
});

describe('ARN patterns', () => {
  test.each<[string, string, boolean]>([
    ['arn:aws:ec2:us-east-1:1:instance/*', 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}', true],
    ['arn:aws:ec2:*:*:instance/i-1', 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}', true],
    ['arn:aws:ec2:us-east-1:1:volume/*', 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}', false],
    ['arn:aws:ec2:us-east-1::image/*', 'arn:${Partition}:ec2:${Region}::image/${ImageId}', true],
    ['arn:aws:ssm:*:*:parameter/a/b/*', 'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}', true],
    ['arn:aws:ssm:*:*:parameter?a', 'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}', true],
    ['arn:aws:ssm:*:*:*', 'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}', true],
    ['arn:aws:s3:::bucket', 'arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}', false],
  ])('%s against %s: %s', (entry, format, expected) => {
    expect(entryMatchesFormat([entry], format)).toBe(expected);
  });

  test('an unknown part matches any text', () => {
    expect(entryMatchesFormat(['arn:aws:ec2:us-east-1:1:instance/', UNKNOWN], 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}')).toBe(true);
    expect(entryMatchesFormat(['arn:aws:ec2:us-east-1:1:volume/', UNKNOWN], 'arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}')).toBe(false);
    expect(patternsIntersect(resourceEntryTokens([UNKNOWN]), arnFormatTokens('arn:x'))).toBe(true);
  });

  test('operators parse into set, base and IfExists', () => {
    expect(parseOperator('ForAllValues:StringLikeIfExists')).toEqual({ set: 'ForAllValues', base: 'StringLike', ifExists: true });
    expect(parseOperator('Null')).toEqual({ set: undefined, base: 'Null', ifExists: false });
  });
});
