import { ConfigSchema } from '../../../lib/config';
import { deployPlan } from '../../../lib/cli/preflight/deploy-plan';
import { offeringChecks } from '../../../lib/cli/preflight/preflight';
import { PRIVATE_NETWORK } from '../network-fixtures';

const config = (input: object) => ConfigSchema.parse(input);

describe('what a deploy into an existing VPC creates', () => {
  test('GIVEN a network THEN the deploy makes no VPC and no internet gateway', () => {
    expect(deployPlan(config({ network: PRIVATE_NETWORK }))).toMatchObject({ vpcs: 0, internetGateways: 0, network: { vpcId: PRIVATE_NETWORK.vpcId }, codeArtifact: false });
  });

  test('GIVEN a scheduler address in the second subnet THEN the scheduler is planned there', () => {
    const plan = deployPlan(config({ cluster: { workers: 1 }, network: { ...PRIVATE_NETWORK, schedulerAddress: '10.20.2.20' } }));
    expect(plan.machines.find((m) => m.role === 'scheduler')?.subnetIndex).toBe(1);
  });

  test('GIVEN one subnet THEN its zone is the only one checked for offerings, and one zone is enough', () => {
    const plan = deployPlan(config({ network: { ...PRIVATE_NETWORK, subnets: [PRIVATE_NETWORK.subnets[1]] } }));
    const checks = offeringChecks(plan.machines, ['eu-central-1b'], new Map([['t3.medium', new Set(['eu-central-1b'])]]), { minimumZones: 1 });
    expect(checks).toEqual([{ status: 'PASS', check: 'instance type t3.medium', detail: "offered in the VPC's zones eu-central-1b" }]);
  });
});
