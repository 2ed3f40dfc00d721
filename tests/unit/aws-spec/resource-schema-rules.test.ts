import {
  customResourceServiceToken,
  getAttAttributesExist,
  loadSpec,
  propertiesKnown,
  propertyValueTypes,
  requiredPropertiesPresent,
  resourceAttributesKnown,
  resourceTypeExists,
  SpecDatabase,
  SpecRule,
} from './resource-schema-rules';

/** A template of one resource besides a good security group and a good instance. */
function templateWith(resources: Record<string, unknown>): any {
  return {
    Resources: {
      Group: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'ssh', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '203.0.113.0/24' }] } },
      Machine: {
        Type: 'AWS::EC2::Instance',
        Properties: {
          ImageId: 'ami-12345678',
          InstanceType: 't3.medium',
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true } }],
          SecurityGroupIds: [{ 'Fn::GetAtt': ['Group', 'GroupId'] }],
          Tags: [{ Key: 'a', Value: 'b' }],
        },
      },
      ...resources,
    },
  };
}

/** The messages of a rule over a template. */
function messages(rule: SpecRule, template: any): string[] {
  return rule(template, spec).map((f) => `${f.path}: ${f.message}`);
}

let spec: SpecDatabase;
beforeAll(() => {
  spec = loadSpec();
});

describe.each<[string, SpecRule]>([
  ['resourceTypeExists', resourceTypeExists],
  ['resourceAttributesKnown', resourceAttributesKnown],
  ['propertiesKnown', propertiesKnown],
  ['requiredPropertiesPresent', requiredPropertiesPresent],
  ['propertyValueTypes', propertyValueTypes],
  ['getAttAttributesExist', getAttAttributesExist],
  ['customResourceServiceToken', customResourceServiceToken],
])('%s', (_name, rule) => {
  test('passes a good template', () => {
    expect(messages(rule, templateWith({ Custom: { Type: 'Custom::Thing', Properties: { ServiceToken: 'arn:aws:lambda:us-east-1:1:function:f', Anything: 1 } } }))).toEqual([]);
  });
});

describe('each rule catches its broken template', () => {
  test('an unknown resource type', () => {
    expect(messages(resourceTypeExists, templateWith({ Bad: { Type: 'AWS::EC2::Instanse', Properties: {} } }))).toEqual([
      'Resources.Bad.Type: AWS::EC2::Instanse is not a CloudFormation resource type',
    ]);
  });

  test('an unknown resource attribute', () => {
    expect(messages(resourceAttributesKnown, templateWith({ Bad: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' }, DependOn: 'Group' } }))).toEqual([
      expect.stringContaining('Resources.Bad.DependOn: DependOn is not a resource attribute'),
    ]);
  });

  test('an unknown property, at the top and nested in a property type', () => {
    const template = templateWith({});
    template.Resources.Machine.Properties.UserDate = 'x';
    template.Resources.Machine.Properties.BlockDeviceMappings[0].Ebs.Encrypt = true;
    expect(messages(propertiesKnown, template)).toEqual([
      expect.stringMatching(/^Resources\.Machine\.Properties\.UserDate: AWS::EC2::Instance has no property UserDate; it has .*UserData/),
      expect.stringMatching(/^Resources\.Machine\.Properties\.BlockDeviceMappings\[0\]\.Ebs\.Encrypt: Ebs has no property Encrypt; it has .*Encrypted/),
    ]);
  });

  test('a missing required property, at the top and nested', () => {
    const template = templateWith({ Bad: { Type: 'AWS::EC2::SecurityGroup', Properties: { VpcId: 'vpc-1' } } });
    delete template.Resources.Group.Properties.SecurityGroupIngress[0].IpProtocol;
    expect(messages(requiredPropertiesPresent, template)).toEqual([
      'Resources.Group.Properties.SecurityGroupIngress[0]: Ingress requires IpProtocol',
      'Resources.Bad.Properties: AWS::EC2::SecurityGroup requires GroupDescription',
    ]);
  });

  test('a resource without Properties misses its required ones', () => {
    expect(messages(requiredPropertiesPresent, templateWith({ Bad: { Type: 'AWS::EC2::Subnet' } }))).toEqual(['Resources.Bad: AWS::EC2::Subnet requires VpcId']);
  });

  test('literal values of the wrong type: list, object, number, boolean, enumeration', () => {
    const template = templateWith({});
    const props = template.Resources.Machine.Properties;
    props.SecurityGroupIds = 'sg-1';
    props.BlockDeviceMappings[0].Ebs.VolumeSize = 'thirty';
    props.BlockDeviceMappings[0].Ebs.Encrypted = 'yes';
    props.Affinity = 'hosts';
    props.Tags = [{ Key: 'a', Value: 'b' }, 'c'];
    props.InstanceType = ['t3.medium'];
    template.Resources.Logs = { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 8 } };
    expect(messages(propertyValueTypes, template)).toEqual([
      'Resources.Machine.Properties.InstanceType: expected a string, got a list',
      'Resources.Machine.Properties.BlockDeviceMappings[0].Ebs.VolumeSize: expected an integer, got "thirty"',
      'Resources.Machine.Properties.BlockDeviceMappings[0].Ebs.Encrypted: expected a boolean, got "yes"',
      'Resources.Machine.Properties.SecurityGroupIds: expected a list, got a string',
      'Resources.Machine.Properties.Tags[1]: expected an object, got a string',
      'Resources.Machine.Properties.Affinity: "hosts" is not one of "default", "host"',
      expect.stringMatching(/^Resources\.Logs\.Properties\.RetentionInDays: 8 is not one of 1, 3, 5, 7, 14, /),
    ]);
  });

  test('intrinsic functions stand for any value', () => {
    const template = templateWith({});
    template.Resources.Machine.Properties.SecurityGroupIds = { 'Fn::Split': [',', 'a,b'] };
    template.Resources.Machine.Properties.BlockDeviceMappings[0].Ebs.VolumeSize = { Ref: 'Size' };
    expect(messages(propertyValueTypes, template)).toEqual([]);
  });

  test('a GetAtt of an attribute the type lacks, or of no resource; in Fn::GetAtt and Fn::Sub', () => {
    const template = templateWith({
      Out: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::Sub': '${Machine.PrivateIpAddress} ${Machine.PrivateIp}' } } },
    });
    template.Outputs = { Ip: { Value: { 'Fn::GetAtt': ['Nobody', 'Arn'] } }, Group: { Value: { 'Fn::GetAtt': 'Group.GroupName' } } };
    expect(messages(getAttAttributesExist, template)).toEqual([
      expect.stringMatching(/^Resources\.Out\.Properties\.Value: AWS::EC2::Instance has no attribute PrivateIpAddress; it has .*PrivateIp/),
      'Outputs.Ip.Value: Fn::GetAtt names Nobody, which is not a resource of this template',
      expect.stringMatching(/^Outputs\.Group\.Value: AWS::EC2::SecurityGroup has no attribute GroupName; it has/),
    ]);
  });

  test('a custom resource without ServiceToken', () => {
    expect(messages(customResourceServiceToken, templateWith({ Bad: { Type: 'Custom::Thing', Properties: { Anything: 1 } } }))).toEqual([
      'Resources.Bad.Properties: Custom::Thing requires ServiceToken (the ARN of its Lambda function or SNS topic)',
    ]);
  });
});
