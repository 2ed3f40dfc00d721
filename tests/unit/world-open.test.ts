/**
 * The security groups' own world-open check (lib/network/world-open.ts): it
 * holds even when a config reaches the constructs without the schema's check,
 * and it judges a list by what all its blocks open together.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ClusterSecurityGroups } from '../../lib/cluster/cluster-security-groups';
import { MachineSecurityGroup } from '../../lib/machine/machine-security-group';
import { synthApp } from './support';

/** A stack with a VPC to put security groups in. */
function vpcStack(): { stack: Stack; vpc: ec2.Vpc } {
  const stack = new Stack(new App(), 'Groups');
  return { stack, vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 }) };
}

const HALVES: Array<[string, string[]]> = [
  ['IPv4 halves', ['0.0.0.0/1', '128.0.0.0/1']],
  ['IPv6 halves', ['::/1', '8000::/1']],
  ['a /8 and one more address', ['10.0.0.0/8', '11.0.0.0/32']],
];

describe('the cluster refuses a dashboard list above the line unless acknowledged', () => {
  test.each(HALVES)('%s', (_what, cidrs) => {
    // GIVEN a dashboard list that opens more than a /8 (or /32) only taken together
    const { stack, vpc } = vpcStack();
    // WHEN the cluster's groups are built without the acknowledgement THEN they refuse, naming the setting
    expect(() => new ClusterSecurityGroups(stack, 'Cluster', { vpc, dashboardCidrs: cidrs })).toThrow(
      /access\.dashboardCidrs .* opens the Dask dashboard \(port 8787\) to .*add "dashboardCidrs" to access\.allowWorldOpen/,
    );
    // AND the message lists every block of the list, as written
    expect(() => new ClusterSecurityGroups(stack, 'Cluster2', { vpc, dashboardCidrs: cidrs })).toThrow(`access.dashboardCidrs (${cidrs.join(', ')}) opens`);
  });

  test('just at the line it builds, with no warning', () => {
    const { stack, vpc } = vpcStack();
    new ClusterSecurityGroups(stack, 'Cluster', { vpc, dashboardCidrs: ['10.0.0.0/9', '10.128.0.0/9', '2001:db8::/32'] });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('dashboard'))).toEqual([]);
  });

  test('acknowledged, it builds and synth warns with the extent', () => {
    const { stack, vpc } = vpcStack();
    new ClusterSecurityGroups(stack, 'Cluster', { vpc, dashboardCidrs: ['0.0.0.0/1', '128.0.0.0/1'], dashboardWorldOpenAcknowledged: true });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('the Dask dashboard \\(port 8787\\) is open to the whole internet \\(0.0.0.0/1, 128.0.0.0/1\\)'));
    // AND the warning carries its own id, so a user can acknowledge exactly this warning
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('\\[ack: dasklab:world-open\\]'));
    const rules = Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup');
    expect(JSON.stringify(rules)).toContain('128.0.0.0/1');
  });
});

describe('the machines refuse an SSH list above the line unless acknowledged', () => {
  test.each(HALVES)('%s', (_what, cidrs) => {
    const { stack, vpc } = vpcStack();
    expect(() => new MachineSecurityGroup(stack, 'Machines', { vpc, sshCidrs: cidrs })).toThrow(
      /access\.sshCidrs .* opens SSH \(port 22\) to .*add "sshCidrs" to access\.allowWorldOpen/,
    );
  });

  test('acknowledged in the config, a cluster stack warns for the dashboard', () => {
    // GIVEN a cluster whose dashboard list is the two IPv6 halves, acknowledged
    const stack = synthApp({
      cluster: { workers: 1 },
      access: { dashboardCidrs: ['::/1', '8000::/1'], allowWorldOpen: ['dashboardCidrs'] },
    }).get('dasklab-Cluster')!;
    // THEN synth warns, naming the extent and the setting
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('the Dask dashboard \\(port 8787\\) is open to the whole internet .*access.allowWorldOpen allows for access.dashboardCidrs'),
    );
  });
});
