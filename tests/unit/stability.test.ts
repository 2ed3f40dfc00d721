import { DasklabConfigInput } from '../../lib/config/schema';
import { onlyResource, templateOf } from './support';

/**
 * Properties of AWS::EC2::Instance whose change replaces the instance
 * (CloudFormation's "Update requires: Replacement"), plus the launch template's
 * data, whose change makes a new version that the instance points to.
 */
const REPLACING_PROPERTIES = [
  'AvailabilityZone', 'BlockDeviceMappings', 'CpuOptions', 'ElasticGpuSpecifications', 'EnclaveOptions',
  'HibernationOptions', 'ImageId', 'Ipv6AddressCount', 'Ipv6Addresses', 'KeyName', 'LaunchTemplate',
  'LicenseSpecifications', 'NetworkInterfaces', 'PlacementGroupName', 'PrivateIpAddress', 'SecurityGroups',
  'SubnetId', 'Tenancy',
];

function replacementFingerprint(input: DasklabConfigInput) {
  const template = templateOf('dasklab-Machine', input);
  const { id, resource } = onlyResource(template, 'AWS::EC2::Instance');
  const launchTemplate = onlyResource(template, 'AWS::EC2::LaunchTemplate');
  const keyPair = onlyResource(template, 'AWS::EC2::KeyPair');
  return {
    id,
    instance: Object.fromEntries(REPLACING_PROPERTIES.map((p) => [p, resource.Properties[p]])),
    launchTemplate: launchTemplate.resource.Properties,
    keyPair: keyPair.resource.Properties,
  };
}

describe('re-deploying with unrelated changes does not replace the machine', () => {
  const base = replacementFingerprint({});

  test.each<[string, DasklabConfigInput]>([
    ['SSH opened to a CIDR', { access: { sshCidrs: ['203.0.113.0/24'] } }],
    ['the dashboard opened to a CIDR', { access: { dashboardCidrs: ['203.0.113.0/24'] } }],
    ['a longer readiness timeout', { machine: { readyTimeoutMinutes: 90 } }],
    ['another package list', { python: { packages: ['numpy', 'dask[distributed]', 'pandas'] } }],
    ['a package index', { python: { indexUrl: 'https://mirror.example/simple' } }],
  ])('%s', (_what, change) => {
    // GIVEN the default machine
    // WHEN an unrelated setting changes
    const changed = replacementFingerprint(change);
    // THEN the instance keeps its logical id and every replacing property
    expect(changed).toEqual(base);
  });

  test('a change that does replace it is detected (the check is not blind)', () => {
    expect(replacementFingerprint({ machine: { diskGiB: 31 } })).not.toEqual(base);
  });
});
