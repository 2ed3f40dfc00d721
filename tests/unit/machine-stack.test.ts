import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { MachineStack } from '../../lib/machine/machine-stack';
import { versionSetPath } from '../../lib/machine/version-set';
import { configOf, ingressRules, onlyResource, synthApp, templateOf, userDataOf } from './support';

const STACK = 'dasklab-Machine';

describe('the default app', () => {
  test('has exactly one stack, named <name>-Machine', () => {
    // WHEN the embedded default config is synthesized
    const stacks = synthApp();
    // THEN it holds one standalone machine stack
    expect([...stacks.keys()]).toEqual([STACK]);
  });

  test('the stack name follows the config name', () => {
    expect([...synthApp({ name: 'course-b' }).keys()]).toEqual(['course-b-Machine']);
  });
});

describe('network', () => {
  test('a new VPC with public subnets in 2 AZs and no NAT gateway', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) {
      expect((subnet as any).Properties.MapPublicIpOnLaunch).toBe(true);
    }
    const azs = subnets.map((s: any) => JSON.stringify(s.Properties.AvailabilityZone));
    expect(new Set(azs).size).toBe(2);
  });
});

describe('the machine', () => {
  test('launches from a template that resolves Canonical’s Ubuntu 24.04 amd64 parameter at launch', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN the image is named by SSM, not resolved into the template
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        ImageId: 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      }),
    });
    const { resource } = onlyResource(template, 'AWS::EC2::Instance');
    expect(resource.Properties.ImageId).toBeUndefined();
    expect(resource.Properties.LaunchTemplate).toEqual({
      LaunchTemplateId: { Ref: expect.any(String) },
      Version: { 'Fn::GetAtt': [expect.any(String), 'LatestVersionNumber'] },
    });
    // AND no deploy-time parameter could change it under a running machine
    expect(Object.keys(template.toJSON().Parameters ?? {})).toEqual(['BootstrapVersion']);
  });

  test.each([
    ['t4g.medium', 'arm64'],
    ['m7g.large', 'arm64'],
    ['c7gn.xlarge', 'arm64'],
    ['t3.medium', 'amd64'],
    ['m7i.large', 'amd64'],
  ])('%s gets the %s image', (instanceType, arch) => {
    // GIVEN an instance type
    // WHEN synthesized
    const template = templateOf(STACK, { machine: { instanceType } });
    // THEN the launch template names the image of its architecture
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: Match.stringLikeRegexp(`/current/${arch}/`) }),
    });
    template.hasResourceProperties('AWS::EC2::Instance', { InstanceType: instanceType });
  });

  test('requires IMDSv2 and an encrypted gp3 root volume of machine.diskGiB', () => {
    // GIVEN a disk size
    const template = templateOf(STACK, { machine: { diskGiB: 64 } });
    // THEN
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/sda1',
            Ebs: { VolumeSize: 64, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
          },
        ],
      }),
    });
  });

  test('generates its own ED25519 key pair by default', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN
    const { id } = onlyResource(template, 'AWS::EC2::KeyPair');
    template.hasResourceProperties('AWS::EC2::KeyPair', { KeyType: 'ed25519' });
    template.hasResourceProperties('AWS::EC2::Instance', { KeyName: { Ref: id } });
  });

  test('imports access.publicKey instead of generating a key', () => {
    // GIVEN the user's own public key
    const publicKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ5d0fYV2u6lHk1m5gY5zZ2d0bXfWq1mDkq0mCk7N3a trainer@laptop';
    // WHEN
    const template = templateOf(STACK, { access: { publicKey } });
    // THEN one imported key pair, and no private key in SSM
    template.resourceCountIs('AWS::EC2::KeyPair', 1);
    template.hasResourceProperties('AWS::EC2::KeyPair', { PublicKeyMaterial: publicKey });
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('PrivateKeyCommand');
  });

  test('one instance role and profile, with no AWS-managed policy', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN
    const ec2Roles = Object.values(template.findResources('AWS::IAM::Role')).filter(
      (r: any) => r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'ec2.amazonaws.com',
    );
    expect(ec2Roles).toHaveLength(1);
    template.resourceCountIs('AWS::IAM::InstanceProfile', 1);
    // AND no managed policy: AmazonSSMManagedInstanceCore would allow ssm:GetParameter(s) on every parameter
    expect((ec2Roles[0] as any).Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('carries the tags of the tag contract, also onto its root volume', () => {
    // GIVEN an app name
    const template = templateOf('physics-Machine', { name: 'physics' });
    // THEN
    template.hasResourceProperties('AWS::EC2::Instance', {
      Tags: Match.arrayWith([
        { Key: 'dasklab:app', Value: 'physics' },
        { Key: 'dasklab:role', Value: 'standalone' },
        { Key: 'Name', Value: 'physics-machine' },
      ]),
      PropagateTagsToVolumeOnCreation: true,
    });
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::SecurityGroup', 'AWS::EC2::KeyPair', 'AWS::IAM::Role', 'AWS::EC2::LaunchTemplate']) {
      for (const resource of Object.values(template.findResources(type))) {
        const props = (resource as any).Properties;
        expect(props.Tags ?? props.TagSpecifications[0].Tags).toEqual(
          expect.arrayContaining([expect.objectContaining({ Key: 'dasklab:app', Value: 'physics' })]),
        );
      }
    }
  });
});

describe('flow log', () => {
  test('rejected traffic is logged to a log group that is deleted with the stack', () => {
    const template = templateOf(STACK);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', Properties: { RetentionInDays: 30 } });
  });
});

describe('security group', () => {
  test('by default nothing may come in', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN
    expect(ingressRules(template)).toEqual([]);
  });

  test('SSH opens to access.sshCidrs only', () => {
    // GIVEN two CIDRs, one IPv6
    const template = templateOf(STACK, { access: { sshCidrs: ['203.0.113.0/24', '2001:db8::/32'] } });
    // THEN exactly port 22 from them
    expect(ingressRules(template)).toEqual([
      { cidr: '203.0.113.0/24', from: 22, to: 22, source: undefined },
      { cidr: '2001:db8::/32', from: 22, to: 22, source: undefined },
    ]);
  });

  test('egress is HTTP and HTTPS only', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80, IpProtocol: 'tcp' }),
      ],
    });
  });
});

describe('readiness', () => {
  test('a wait condition follows the instance and waits machine.readyTimeoutMinutes for one signal', () => {
    // GIVEN a timeout
    const template = templateOf(STACK, { machine: { readyTimeoutMinutes: 45 } });
    // THEN
    const instance = onlyResource(template, 'AWS::EC2::Instance');
    const handle = onlyResource(template, 'AWS::CloudFormation::WaitConditionHandle');
    const condition = onlyResource(template, 'AWS::CloudFormation::WaitCondition');
    expect(condition.resource.Properties).toEqual({ Count: 1, Handle: { Ref: handle.id }, Timeout: '2700' });
    expect(condition.resource.DependsOn).toEqual([instance.id]);
  });

  test('the user data carries the handle URL and the config’s python settings', () => {
    // GIVEN python settings
    const template = templateOf(STACK, {
      python: { packages: ['numpy==2.1.3', 'dask[distributed]'], indexUrl: 'https://mirror.example/simple', venv: '/srv/py' },
    });
    // WHEN the user data's parts are read
    const { resource } = onlyResource(template, 'AWS::EC2::Instance');
    const handle = onlyResource(template, 'AWS::CloudFormation::WaitConditionHandle');
    const text = userDataOf(resource);
    // THEN
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(text).toContain(`DASKLAB_SIGNAL_URL='${JSON.stringify({ Ref: handle.id })}'`);
    expect(text).toContain("DASKLAB_PIP_PACKAGES=('numpy==2.1.3' 'dask[distributed]')");
    expect(text).toContain("DASKLAB_PIP_INDEX_URL='https://mirror.example/simple'");
    expect(text).toContain("DASKLAB_VENV='/srv/py'");
    expect(text).toContain("DASKLAB_PYTHON_VERSION='3.12'");
    expect(text).toContain("DASKLAB_ROLE='standalone'");
  });
});

describe('outputs', () => {
  test('instance id, address, ssh, key and session commands', () => {
    // WHEN
    const outputs = templateOf(STACK).toJSON().Outputs;
    // THEN
    expect(Object.keys(outputs).sort()).toEqual(
      ['InstanceId', 'PrivateKeyCommand', 'PublicDnsName', 'PublicIp', 'SshCommand', 'SsmSessionCommand'].sort(),
    );
    const text = JSON.stringify(outputs);
    expect(text).toContain('aws ssm get-parameter');
    expect(text).toContain('--with-decryption');
    expect(text).toContain('aws ssm start-session');
  });

  test('without SSH ingress the ssh command tunnels through Session Manager', () => {
    const closed = JSON.stringify(templateOf(STACK).toJSON().Outputs.SshCommand);
    const open = JSON.stringify(templateOf(STACK, { access: { sshCidrs: ['198.51.100.7/32'] } }).toJSON().Outputs.SshCommand);
    expect(closed).toContain('AWS-StartSSHSession');
    expect(open).not.toContain('AWS-StartSSHSession');
    expect(open).toContain('PublicIp');
  });
});

describe('world-open access, when the config acknowledges it', () => {
  test('opens SSH to the world and synth warns, naming it', () => {
    // GIVEN an acknowledged world-open SSH list
    const stack = synthApp({ access: { sshCidrs: ['0.0.0.0/0'], allowWorldOpen: ['sshCidrs'] } }).get(STACK)!;
    // THEN the rule is there and a warning names the port and the setting
    expect(ingressRules(Template.fromStack(stack))).toEqual([{ cidr: '0.0.0.0/0', from: 22, to: 22, source: undefined }]);
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('SSH \\(port 22\\) is open to the whole internet .*access.allowWorldOpen'),
    );
  });

  test('without the acknowledgement the construct refuses, even if the config check were bypassed', () => {
    const config = configOf({});
    const unchecked = { ...config, access: { ...config.access, sshCidrs: ['0.0.0.0/0'] } };
    expect(() => new MachineStack(new App(), 'X', { config: unchecked })).toThrow(/allowWorldOpen/);
  });
});

describe('no world-open ingress and no secret in the template', () => {
  test('the default template opens nothing to 0.0.0.0/0 or ::/0', () => {
    const rules = ingressRules(templateOf(STACK));
    expect(rules.filter((r) => r.cidr === '0.0.0.0/0' || r.cidr === '::/0')).toEqual([]);
  });

  test('no private key material anywhere in the template', () => {
    const text = JSON.stringify(templateOf(STACK).toJSON());
    expect(text).not.toMatch(/PRIVATE KEY/);
  });
});

describe('instance role', () => {
  test('may open Session Manager channels, set only its own dasklab:bootstrap and dasklab:jupyter tags, and read and add the two kinds of the app\'s version set but never overwrite one', () => {
    // WHEN
    const template = templateOf(STACK);
    // THEN its inline policy holds exactly what Session Manager's agent needs, and the self-tag
    const instanceRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('FleetInstanceRole'));
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter(
      (p: any) => p.Properties.Roles[0].Ref === instanceRole,
    );
    expect(policies).toHaveLength(1);
    const instanceArn = (id: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:instance/${id}`]],
    });
    // The two kinds of the version set of this package config, named in full.
    const set = versionSetPath('dasklab', { pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'] });
    const versionSets = ['jupyter', 'base'].map((kind) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter${set}/${kind}`]],
    }));
    expect((policies[0] as any).Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'SessionManagerChannels',
        Effect: 'Allow',
        Action: [
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        Resource: '*',
      },
      {
        Sid: 'TagOwnBootstrapStatus',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: instanceArn('*'),
        Condition: {
          StringEquals: { 'ec2:SourceInstanceARN': instanceArn('${ec2:InstanceID}') },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['dasklab:bootstrap', 'dasklab:jupyter'] },
        },
      },
      {
        Sid: 'ReadVersionSets',
        Effect: 'Allow',
        Action: 'ssm:GetParameters',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':parameter/dasklab/dasklab/python/*']] },
      },
      { Sid: 'ShareVersionSet', Effect: 'Allow', Action: 'ssm:PutParameter', Resource: versionSets },
      { Sid: 'KeepVersionSet', Effect: 'Deny', Action: 'ssm:PutParameter', Resource: versionSets, Condition: { StringEquals: { 'ssm:Overwrite': 'true' } } },
    ]);
  });
});
