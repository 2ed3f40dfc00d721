/**
 * The machines' role, built directly in a small stack: who may assume it, each
 * policy statement exactly (actions, resources, conditions, effect), what the
 * parameter and version-set grants add, and the cdk-nag findings each part
 * acknowledges, with the path filled in.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { grantVersionSet, MachineInstanceRole, parameterArn, SESSION_MANAGER_ACTIONS } from '../../lib/machine/instance-role';

const ENV = { account: '111122223333', region: 'eu-west-1' };

/** An ARN as the template writes it: the partition a reference, the rest as given. */
const arnOf = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });
const ssmArn = (name: string) => arnOf(`:ssm:eu-west-1:111122223333:parameter${name}`);

const SESSION_MANAGER = {
  Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
  Effect: 'Allow',
  Resource: '*',
  Sid: 'SessionManagerChannels',
};
const TAG_OWN_INSTANCE = {
  Action: 'ec2:CreateTags',
  Condition: {
    StringEquals: { 'ec2:SourceInstanceARN': arnOf(':ec2:eu-west-1:111122223333:instance/${ec2:InstanceID}') },
    'ForAllValues:StringEquals': { 'aws:TagKeys': ['dasklab:bootstrap', 'dasklab:jupyter'] },
  },
  Effect: 'Allow',
  Resource: arnOf(':ec2:eu-west-1:111122223333:instance/*'),
  Sid: 'TagOwnBootstrapStatus',
};

const SESSION_MANAGER_ACK = 'AwsSolutions::AwsSolutions-IAM5[Resource::*]';
const TAG_OWN_ACK = 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]';
const parameterAck = (path: string) => `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter${path}/*]`;

function newStack(): Stack {
  return new Stack(new App(), 'Roles', { env: ENV });
}

/** The role's own resource properties and every statement of its policy. */
function synthesized(stack: Stack, role: iam.Role): { roleProperties: any; statements: any[] } {
  const template = Template.fromStack(stack);
  const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
  expect(policies.map((p) => p.Properties.Roles)).toEqual([[{ Ref: roleId }]]);
  return { roleProperties: template.toJSON().Resources[roleId].Properties, statements: policies[0].Properties.PolicyDocument.Statement };
}

/** The cdk-nag findings acknowledged on a construct, with their reasons. */
function acknowledged(scope: IConstruct): Record<string, string> {
  return Object.assign({}, ...scope.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => m.data));
}

describe('the machines\' instance role', () => {
  test('EC2 may assume it; Session Manager\'s channels on *, and tagging the machine itself with its two tags only', () => {
    // GIVEN a stack WHEN the role is built with no properties
    const stack = newStack();
    const { role } = new MachineInstanceRole(stack, 'Machines');
    // THEN these are its properties and its statements, exactly
    const { roleProperties, statements } = synthesized(stack, role);
    expect(roleProperties).toEqual({
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }], Version: '2012-10-17' },
      Description: 'dasklab machines: Session Manager access; each machine tags itself with its bootstrap status',
    });
    expect(statements).toEqual([SESSION_MANAGER, TAG_OWN_INSTANCE]);
    // AND only the two wildcards are acknowledged, each with its reason
    expect(Object.keys(acknowledged(role))).toEqual([SESSION_MANAGER_ACK, TAG_OWN_ACK]);
    expect(acknowledged(role)[TAG_OWN_ACK]).toMatch(/ec2:SourceInstanceARN/);
  });

  test('the description given replaces the default', () => {
    const stack = newStack();
    const { role } = new MachineInstanceRole(stack, 'Machines', { description: 'the workers' });
    expect(synthesized(stack, role).roleProperties.Description).toBe('the workers');
  });

  test('the Session Manager actions are the agent\'s five, and no others', () => {
    expect([...SESSION_MANAGER_ACTIONS]).toEqual(SESSION_MANAGER.Action);
  });

  test('reading a path\'s parameters: GetParameter and GetParameters under the path, acknowledged with the path', () => {
    const stack = newStack();
    const machines = new MachineInstanceRole(stack, 'Machines');
    machines.allowParameterRead('/dasklab/c/cluster/tls');
    const { statements } = synthesized(stack, machines.role);
    expect(statements).toEqual([
      SESSION_MANAGER,
      TAG_OWN_INSTANCE,
      { Action: ['ssm:GetParameter', 'ssm:GetParameters'], Effect: 'Allow', Resource: ssmArn('/dasklab/c/cluster/tls/*'), Sid: 'ReadClusterParameters' },
    ]);
    expect(Object.keys(acknowledged(machines.role))).toEqual([SESSION_MANAGER_ACK, TAG_OWN_ACK, parameterAck('/dasklab/c/cluster/tls')]);
  });

  test('writing a path\'s parameters: reading and PutParameter under the path, acknowledged with the path', () => {
    const stack = newStack();
    const machines = new MachineInstanceRole(stack, 'Machines');
    machines.allowParameterWrite('/dasklab/c/cluster/tls');
    const { statements } = synthesized(stack, machines.role);
    expect(statements).toEqual([
      SESSION_MANAGER,
      TAG_OWN_INSTANCE,
      { Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:PutParameter'], Effect: 'Allow', Resource: ssmArn('/dasklab/c/cluster/tls/*'), Sid: 'WriteClusterParameters' },
    ]);
    expect(Object.keys(acknowledged(machines.role))).toEqual([SESSION_MANAGER_ACK, TAG_OWN_ACK, parameterAck('/dasklab/c/cluster/tls')]);
  });

  test('version sets: read the whole root, add the two kinds of its own set, never overwrite them', () => {
    const stack = newStack();
    const machines = new MachineInstanceRole(stack, 'Machines');
    machines.allowVersionSet('/dasklab/app/python', '/dasklab/app/python/abc123');
    const { statements } = synthesized(stack, machines.role);
    const ownSet = [ssmArn('/dasklab/app/python/abc123/jupyter'), ssmArn('/dasklab/app/python/abc123/base')];
    expect(statements).toEqual([
      SESSION_MANAGER,
      TAG_OWN_INSTANCE,
      { Action: 'ssm:GetParameters', Effect: 'Allow', Resource: ssmArn('/dasklab/app/python/*'), Sid: 'ReadVersionSets' },
      { Action: 'ssm:PutParameter', Effect: 'Allow', Resource: ownSet, Sid: 'ShareVersionSet' },
      { Action: 'ssm:PutParameter', Condition: { StringEquals: { 'ssm:Overwrite': 'true' } }, Effect: 'Deny', Resource: ownSet, Sid: 'KeepVersionSet' },
    ]);
    expect(Object.keys(acknowledged(machines.role))).toEqual([SESSION_MANAGER_ACK, TAG_OWN_ACK, parameterAck('/dasklab/app/python')]);
  });
});

describe('grantVersionSet on any role', () => {
  test('adds the same three statements and the acknowledgement with the root', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'Builder', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    grantVersionSet(role, '/r', '/r/s');
    const { statements } = synthesized(stack, role);
    expect(statements.map((s) => [s.Sid, s.Effect, s.Action, s.Resource])).toEqual([
      ['ReadVersionSets', 'Allow', 'ssm:GetParameters', ssmArn('/r/*')],
      ['ShareVersionSet', 'Allow', 'ssm:PutParameter', [ssmArn('/r/s/jupyter'), ssmArn('/r/s/base')]],
      ['KeepVersionSet', 'Deny', 'ssm:PutParameter', [ssmArn('/r/s/jupyter'), ssmArn('/r/s/base')]],
    ]);
    expect(Object.keys(acknowledged(role))).toEqual([parameterAck('/r')]);
  });
});

describe('parameterArn', () => {
  test('a name with or without its leading slash gives the same ARN; inner slashes are kept', () => {
    const stack = newStack();
    expect(stack.resolve(parameterArn(stack, '/a/b/c'))).toEqual(ssmArn('/a/b/c'));
    expect(stack.resolve(parameterArn(stack, 'a/b/c'))).toEqual(ssmArn('/a/b/c'));
  });
});
