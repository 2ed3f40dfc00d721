/**
 * How an acknowledgement reaches a construct and how a finding id is traced
 * back to it, without synthesizing an app: `acknowledge` records exactly the
 * entry's ids (placeholders filled) with its reason on the construct it is
 * given, and `acknowledgementOf` matches a finding only to the entry whose id
 * it is. `nag.test.ts` runs the rule pack over whole apps.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { acknowledge, acknowledgementOf, addNagChecks, NAG_ACKNOWLEDGEMENTS } from '../../lib/nag';

/** What acknowledge recorded on a construct: rule id → reason, in order. */
function acknowledged(scope: iam.Role): [string, string][] {
  return scope.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
}

function role(): iam.Role {
  const stack = new Stack(new App(), 'Stack');
  return new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
}

const SSM_PATH_RULE = (path: string) =>
  `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter${path}/*]`;

describe('acknowledge', () => {
  test('records every id of the entry, with its reason, on that construct only', () => {
    // GIVEN two roles WHEN one acknowledges the launcher's launch parts
    const launcher = role();
    const other = new iam.Role(launcher.stack, 'Other', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    acknowledge(launcher, 'spotLauncherLaunchParts');
    // THEN it carries the three rule ids, each with the entry's reason, and the other role none
    const { reason } = NAG_ACKNOWLEDGEMENTS.spotLauncherLaunchParts;
    expect(acknowledged(launcher)).toEqual(['volume', 'network-interface', 'spot-instances-request'].map((type) => [
      `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${type}/*]`,
      reason,
    ]));
    expect(acknowledged(other)).toEqual([]);
  });

  test('fills a {placeholder} from the values given, every occurrence', () => {
    const cleaner = role();
    acknowledge(cleaner, 'parameterCleanup', { path: '/dasklab/course/cluster' });
    expect(acknowledged(cleaner)).toEqual([[SSM_PATH_RULE('/dasklab/course/cluster'), NAG_ACKNOWLEDGEMENTS.parameterCleanup.reason]]);
    const launcher = role();
    acknowledge(launcher, 'spotLauncherSharedSubnet', { subnetId: 'subnet-0abc' });
    expect(acknowledged(launcher).map(([id]) => id)).toEqual([
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:*:subnet/subnet-0abc]',
    ]);
  });

  test('an entry without placeholders is recorded as written, values or not', () => {
    const machine = role();
    acknowledge(machine, 'sessionManager', { path: '/ignored' });
    acknowledge(machine, 'detailedMonitoring');
    expect(acknowledged(machine)).toEqual([
      ['AwsSolutions::AwsSolutions-IAM5[Resource::*]', NAG_ACKNOWLEDGEMENTS.sessionManager.reason],
      ['AwsSolutions::AwsSolutions-EC28', NAG_ACKNOWLEDGEMENTS.detailedMonitoring.reason],
    ]);
  });
});

describe('acknowledgementOf', () => {
  test('each id of each entry is traced back to an entry that lists it', () => {
    for (const { ids } of Object.values(NAG_ACKNOWLEDGEMENTS) as { ids: readonly string[] }[]) {
      for (const id of ids) {
        const concrete = id.replace(/\{(\w+)\}/g, 'x-1');
        const entry = acknowledgementOf(concrete);
        expect({ id: concrete, listed: entry !== undefined && (NAG_ACKNOWLEDGEMENTS[entry].ids as readonly string[]).includes(id) })
          .toEqual({ id: concrete, listed: true });
      }
    }
  });

  test('a placeholder matches one path or id, not a wider resource', () => {
    expect(acknowledgementOf(SSM_PATH_RULE('/dasklab/course/cluster'))).toBe('clusterParameters');
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:*:subnet/subnet-0abc]'))
      .toBe('spotLauncherSharedSubnet');
    // a placeholder stands for text without the closing bracket: no second resource smuggled in
    expect(acknowledgementOf(`${SSM_PATH_RULE('/a')}]x[`)).toBeUndefined();
    // an empty placeholder is not the acknowledged path
    expect(acknowledgementOf(SSM_PATH_RULE(''))).toBeUndefined();
  });

  test('the id must match whole: the rule, the resource, the brackets', () => {
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-EC28')).toBe('detailedMonitoring');
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-EC29')).toBe('terminationProtection');
    expect(acknowledgementOf('CloudFormation-Validate::W2508')).toBe('worldOpenSensitivePort');
    for (const unknown of [
      'AwsSolutions::AwsSolutions-EC2', // a prefix of an id
      'AwsSolutions::AwsSolutions-EC280', // an id with more after it
      'xAwsSolutions::AwsSolutions-EC28',
      'AwsSolutions::AwsSolutions-IAM5', // the rule without its resource
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::x]', // "*" in an id is the character, not "anything"
      'AwsSolutions::AwsSolutions-IAM5(Resource::*)',
      'AwsSolutions::AwsSolutions-IAM5[Resource::*', // brackets are characters, not a class
      'AwsSolutions::AwsSolutions-S1',
      'CloudFormation-Validate::W2509',
      '',
    ]) {
      expect({ unknown, entry: acknowledgementOf(unknown) }).toEqual({ unknown, entry: undefined });
    }
  });

  test('the characters of an id that mean something in a pattern ("*", "<", "[") stand for themselves', () => {
    // GIVEN the image-deletion ids, which hold "::" and "<...>" and "*"
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/*]'))
      .toBe('imageDeletion');
    // THEN a character in place of the "*" or a dropped "<" does not match
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::image/x]')).toBeUndefined();
    expect(acknowledgementOf('AwsSolutions::AwsSolutions-IAM5[Resource::arn:AWS::Partition>:ec2:<AWS::Region>::image/*]')).toBeUndefined();
  });
});

describe('addNagChecks', () => {
  test('runs the AWS Solutions pack at synth: an unacknowledged finding fails it, an acknowledged one does not', () => {
    // GIVEN a stack whose role allows an action on every resource
    const build = (acknowledged: boolean) => {
      const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-nag-')) });
      const stack = new Stack(app, 'Careless');
      const careless = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
      careless.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:UpdateInstanceInformation'], resources: ['*'] }));
      if (acknowledged) acknowledge(careless, 'sessionManager');
      addNagChecks(app);
      return app;
    };
    // WHEN synthesized THEN the finding fails synth, naming the rule, unless acknowledged
    expect(() => build(false).synth()).toThrow(/AwsSolutions-IAM5/);
    expect(() => build(true).synth()).not.toThrow();
  });
});
