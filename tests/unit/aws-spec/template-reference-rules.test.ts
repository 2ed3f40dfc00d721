import { AppStack, conditionsExist, dependsOnTargetsExist, importsHaveExports, ReferenceRule, refTargetsExist } from './template-reference-rules';

const shared: AppStack = {
  stackName: 'app-Shared',
  template: {
    Resources: { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } } },
    Outputs: {
      VpcId: { Value: { Ref: 'Vpc' }, Export: { Name: 'app-Shared:VpcId' } },
      Sub: { Value: { Ref: 'Vpc' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-Vpc' } } },
    },
  },
};

/** A stack with one subnet that imports the VPC and one security group, changed by `edit`. */
function consumer(edit: (template: any) => void = () => {}): AppStack {
  const template: any = {
    Parameters: { Size: { Type: 'Number' } },
    Conditions: { Big: { 'Fn::Equals': [{ Ref: 'Size' }, 2] } },
    Resources: {
      Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { 'Fn::ImportValue': 'app-Shared:VpcId' }, CidrBlock: '10.0.0.0/24' } },
      Group: {
        Type: 'AWS::EC2::SecurityGroup',
        DependsOn: ['Subnet'],
        Condition: 'Big',
        Properties: { GroupDescription: { 'Fn::Sub': 'in ${AWS::Region} ${Subnet}' }, VpcId: { 'Fn::If': ['Big', { Ref: 'AWS::NoValue' }, { 'Fn::GetAtt': ['Subnet', 'VpcId'] }] } },
      },
    },
  };
  edit(template);
  return { stackName: 'app-Consumer', template };
}

function messages(rule: ReferenceRule, stack: AppStack): string[] {
  return rule(stack, [shared, stack]).map((f) => `${f.path}: ${f.message}`);
}

describe.each<[string, ReferenceRule]>([
  ['refTargetsExist', refTargetsExist],
  ['dependsOnTargetsExist', dependsOnTargetsExist],
  ['conditionsExist', conditionsExist],
  ['importsHaveExports', importsHaveExports],
])('%s', (_name, rule) => {
  test('passes a good stack', () => {
    expect(messages(rule, consumer())).toEqual([]);
  });
});

describe('each rule catches its broken template', () => {
  test('a Ref to nothing, in Ref and in Fn::Sub', () => {
    const stack = consumer((t) => {
      t.Resources.Subnet.Properties.VpcId = { Ref: 'Vcp' };
      t.Resources.Group.Properties.GroupDescription = { 'Fn::Sub': '${AWS::Regoin}' };
    });
    expect(messages(refTargetsExist, stack)).toEqual([
      'Resources.Subnet.Properties.VpcId: Ref "Vcp" names no resource, parameter or pseudo parameter of this template',
      'Resources.Group.Properties.GroupDescription: Fn::Sub names ${AWS::Regoin}, which is no resource, parameter or pseudo parameter of this template',
    ]);
  });

  test('DependsOn a resource that is not there, or itself', () => {
    const stack = consumer((t) => {
      t.Resources.Group.DependsOn = ['Subnet', 'Subnett'];
      t.Resources.Subnet.DependsOn = 'Subnet';
    });
    expect(messages(dependsOnTargetsExist, stack)).toEqual([
      'Resources.Subnet.DependsOn: DependsOn "Subnet" is not another resource of this template',
      'Resources.Group.DependsOn: DependsOn "Subnett" is not another resource of this template',
    ]);
  });

  test('a condition that is not defined, on a resource and in Fn::If', () => {
    const stack = consumer((t) => {
      t.Conditions = { Small: t.Conditions.Big };
    });
    expect(messages(conditionsExist, stack)).toEqual([
      'Resources.Group.Condition: condition "Big" is not defined under Conditions',
      'Resources.Group.Properties.VpcId: Fn::If names condition "Big", which is not defined under Conditions',
    ]);
  });

  test('an import of a name no other stack exports, or of the stack\'s own export', () => {
    const stack = consumer((t) => {
      t.Resources.Subnet.Properties.VpcId = { 'Fn::ImportValue': 'app-Shared:VpcID' };
      t.Resources.Group.Properties.VpcId = { 'Fn::ImportValue': 'app-Consumer:Own' };
      t.Outputs = { Own: { Value: 'x', Export: { Name: 'app-Consumer:Own' } } };
    });
    expect(messages(importsHaveExports, stack)).toEqual([
      'Resources.Subnet.Properties.VpcId: Fn::ImportValue "app-Shared:VpcID" is no export of another stack of this app',
      'Resources.Group.Properties.VpcId: Fn::ImportValue "app-Consumer:Own" is no export of another stack of this app',
    ]);
  });

  test('an export name resolved from pseudo parameters matches; one synth cannot know is reported', () => {
    const good = consumer((t) => {
      t.Resources.Subnet.Properties.VpcId = { 'Fn::ImportValue': 'app-Shared-Vpc' };
    });
    expect(messages(importsHaveExports, good)).toEqual([]);
    const unknown = consumer((t) => {
      t.Resources.Subnet.Properties.VpcId = { 'Fn::ImportValue': { 'Fn::Join': ['', [{ Ref: 'Size' }, '-Vpc']] } };
    });
    expect(messages(importsHaveExports, unknown)).toEqual([
      'Resources.Subnet.Properties.VpcId: Fn::ImportValue of {?}-Vpc: the export name is not known at synth, so it cannot be checked',
    ]);
  });
});
