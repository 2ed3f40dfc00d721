import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';
import { addDasklabStacks } from '../../lib/app';
import { DasklabConfigInput } from '../../lib/config/schema';
import { acknowledgementOf, NAG_ACKNOWLEDGEMENTS } from '../../lib/nag';
import { configOf, testApp } from './support';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ5d0fYV2u6lHk1m5gY5zZ2d0bXfWq1mDkq0mCk7N3a trainer@laptop';

/** Synthesizes the whole app, as `cdk synth` does, with cdk-nag's AWS Solutions pack. */
function synthWithNag(input: DasklabConfigInput, extend?: (app: App) => void): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-nag-'));
  const app = testApp({ outdir });
  addDasklabStacks(app, configOf(input));
  extend?.(app);
  app.synth();
  return outdir;
}

describe('cdk-nag AWS Solutions pack', () => {
  test.each<[string, DasklabConfigInput]>([
    ['the default machine', {}],
    ['a machine with SSH and an imported key', { access: { sshCidrs: ['203.0.113.0/24'], publicKey: PUBLIC_KEY } }],
    ['an arm64 machine', { machine: { instanceType: 't4g.large' } }],
    ['a cluster', { cluster: { workers: 3 } }],
    ['a cluster with spot workers and an open dashboard', { cluster: { workers: 2, spot: true }, access: { dashboardCidrs: ['198.51.100.0/24'] } }],
    ['world-open SSH and dashboard, acknowledged', { cluster: { workers: 1 }, access: { sshCidrs: ['0.0.0.0/0', '::/0'], dashboardCidrs: ['0.0.0.0/0'], allowWorldOpen: ['sshCidrs', 'dashboardCidrs'] } }],
    ['a lab with per-student clusters and a schedule', { lab: { roster: ['alice', 'bob'], workersPerStudent: 1, trainerPublicKey: PUBLIC_KEY, schedule: { stop: '18:00', timezone: 'UTC' } } }],
    ['a lab of student machines', { lab: { roster: ['alice', 'bob', 'carol'] } }],
    ['a mixed-architecture cluster', { cluster: { workers: 2, schedulerInstanceType: 't3.medium', workerInstanceType: 'm7g.large' } }],
  ])('%s: no unacknowledged error or warning', (_name, input) => {
    // WHEN the app is synthesized with the checks
    // THEN synth succeeds (a finding would throw ValidationFailed) and the report says so
    const outdir = synthWithNag(input);
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    // (the pack ran: without a report of it, the loop below would check nothing)
    expect(report.pluginReports.map((p: any) => p.pluginName)).toEqual(expect.arrayContaining([expect.stringMatching(/AwsSolutions/)]));
    for (const plugin of report.pluginReports) {
      expect({ plugin: plugin.pluginName, conclusion: plugin.conclusion, violations: plugin.violations }).toEqual({
        plugin: plugin.pluginName,
        conclusion: 'success',
        violations: [],
      });
    }
    // AND what is acknowledged is only what NAG_ACKNOWLEDGEMENTS lists
    const suppressed: string[] = report.pluginReports.flatMap((p: any) => p.suppressedViolations.map((v: any) => v.acknowledgedId));
    expect(suppressed.filter((id) => acknowledgementOf(id) === undefined)).toEqual([]);
  });

  test('the checks are live: a world-open SSH rule fails synth, naming the rule', () => {
    // GIVEN a stack with an unacknowledged world-open ingress rule
    const extend = (app: App) => {
      const stack = new Stack(app, 'Careless');
      const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PUBLIC }] });
      const sg = new ec2.SecurityGroup(stack, 'Open', { vpc });
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    };
    // WHEN synthesized THEN it throws
    expect(() => synthWithNag({}, extend)).toThrow(/AwsSolutions-EC23/);
  });

  test('every acknowledgement names its rule and gives a reason specific to dasklab', () => {
    for (const { ids, reason } of Object.values(NAG_ACKNOWLEDGEMENTS)) {
      for (const id of ids) expect(id).toMatch(/^(AwsSolutions::AwsSolutions-[A-Z]+\d+|CloudFormation-Validate::W\d+)/);
      expect(reason.length).toBeGreaterThan(80);
    }
  });
});
