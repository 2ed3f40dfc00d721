import { configOf } from './support';
import { configErrorOf, expectOneProblem } from './config-errors';
import { machinesGetPublicIp, proxyPort } from '../../lib/config/network-schema';
import { PRIVATE_NETWORK } from './network-fixtures';

function withSubnets(subnets: any[], extra: object = {}) {
  return { network: { vpcId: PRIVATE_NETWORK.vpcId, subnets, ...extra } };
}

describe('network: an existing VPC', () => {
  test('GIVEN no network block THEN the app makes its own VPC (network is absent)', () => {
    expect(configOf({}).network).toBeUndefined();
  });

  test('GIVEN private subnets THEN machines get no public IP by default', () => {
    const network = configOf({ network: PRIVATE_NETWORK }).network!;
    expect(network.publicIp).toBeNull();
    expect(network.subnets.every((s) => s.public === false)).toBe(true);
    expect(machinesGetPublicIp(network)).toBe(false);
  });

  test('GIVEN public subnets and no publicIp THEN machines get a public IP; publicIp false turns it off', () => {
    const subnets = PRIVATE_NETWORK.subnets.map((s) => ({ ...s, public: true }));
    expect(machinesGetPublicIp(configOf(withSubnets(subnets)).network!)).toBe(true);
    expect(machinesGetPublicIp(configOf(withSubnets(subnets, { publicIp: false })).network!)).toBe(false);
  });

  test.each([
    ['vpcId', { network: { ...PRIVATE_NETWORK, vpcId: 'vpc-12' } }, 'network.vpcId', ['"vpc-12"', 'vpc-']],
    ['a subnet id', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], id: 'sub-0a1b2c3d' }]), 'network.subnets[0].id', ['subnet-']],
    ['a zone', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], zone: 'eu-central-1' }]), 'network.subnets[0].zone', ['eu-central-1a']],
    ['a CIDR with host bits', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], cidr: '10.20.1.5/24' }]), 'network.subnets[0].cidr', ['10.20.1.0/24']],
    ['an IPv6 CIDR', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], cidr: '2001:db8::/64' }]), 'network.subnets[0].cidr', ['IPv4']],
    ['a subnet larger than /16', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], cidr: '10.0.0.0/15' }]), 'network.subnets[0].cidr', ['/16', '/28']],
    ['a subnet smaller than /28', withSubnets([{ ...PRIVATE_NETWORK.subnets[0], cidr: '10.20.1.0/29' }]), 'network.subnets[0].cidr', ['/16', '/28']],
    ['no subnets', withSubnets([]), 'network.subnets', ['1 to 16']],
    ['an unknown field', { network: { ...PRIVATE_NETWORK, nat: true } }, 'network.nat', []],
    ['publicIp as a string', { network: { ...PRIVATE_NETWORK, publicIp: 'false' } }, 'network.publicIp', ['true or false']],
  ])('GIVEN %s that is not accepted THEN the error names the field and what is accepted', (_what, input, field, fragments) => {
    expectOneProblem(input, field, ...(fragments as string[]));
  });

  test('GIVEN a subnet listed twice THEN the repeat is named', () => {
    expectOneProblem(withSubnets([PRIVATE_NETWORK.subnets[0], { ...PRIVATE_NETWORK.subnets[0], cidr: '10.20.9.0/24' }]), 'network.subnets[1].id', 'once', 'subnets[0]');
  });

  test('GIVEN overlapping subnet CIDRs THEN the overlap is named', () => {
    expectOneProblem(withSubnets([PRIVATE_NETWORK.subnets[0], { ...PRIVATE_NETWORK.subnets[1], cidr: '10.20.0.0/22' }]), 'network.subnets[1].cidr', 'overlaps', '10.20.1.0/24');
  });

  test('GIVEN subnets in two regions THEN the second zone is refused', () => {
    expectOneProblem(withSubnets([PRIVATE_NETWORK.subnets[0], { ...PRIVATE_NETWORK.subnets[1], zone: 'eu-west-1b' }]), 'network.subnets[1].zone', 'eu-central-1');
  });

  test('GIVEN publicIp true and a private subnet THEN it is refused: a private subnet has no route from the internet', () => {
    expectOneProblem({ network: { ...PRIVATE_NETWORK, publicIp: true } }, 'network.publicIp', 'private', 'subnet-0a1b2c3d4e5f60001');
  });
});

describe('network.schedulerAddress: the cluster scheduler’s fixed address', () => {
  const cluster = { workers: 1 };

  test('GIVEN an address inside the second subnet THEN it is accepted', () => {
    expect(configOf({ cluster, network: { ...PRIVATE_NETWORK, schedulerAddress: '10.20.2.50' } }).network!.schedulerAddress).toBe('10.20.2.50');
  });

  test.each([
    ['10.20.3.7', 'lies in none of the subnets'],
    ['10.20.1.0', 'reserves'],
    ['10.20.1.1', 'reserves'],
    ['10.20.1.2', 'reserves'],
    ['10.20.1.3', 'reserves'],
    ['10.20.1.255', 'reserves'],
    ['10.20.1', 'IPv4 address'],
    ['10.20.1.4/32', 'IPv4 address'],
  ])('GIVEN %s THEN it is refused (%s)', (address, fragment) => {
    expectOneProblem({ cluster, network: { ...PRIVATE_NETWORK, schedulerAddress: address } }, 'network.schedulerAddress', fragment);
  });

  test('GIVEN a scheduler address without a cluster THEN it is refused', () => {
    expectOneProblem({ network: { ...PRIVATE_NETWORK, schedulerAddress: '10.20.1.10' } }, 'network.schedulerAddress', 'cluster');
  });

  test('GIVEN several problems THEN every one is reported at once', () => {
    const { problems } = configErrorOf({ network: { vpcId: 'x', subnets: [{ id: 'y', zone: 'z', cidr: 'w' }] } });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['network.subnets[0].cidr', 'network.subnets[0].id', 'network.subnets[0].zone', 'network.vpcId']);
  });
});

describe('network.proxy', () => {
  test.each(['http://proxy.corp.example:3128', 'https://proxy.corp.example:8443', 'http://10.20.0.5:3128', 'http://proxy.corp.example:3128/'])('GIVEN %s THEN it is accepted', (proxy) => {
    expect(configOf({ network: { ...PRIVATE_NETWORK, proxy } }).network!.proxy).toBe(proxy);
  });

  test.each([['http://proxy.corp.example:80', 80], ['https://proxy.corp.example:443', 443]])('GIVEN %s (the scheme\'s own port, written) THEN it is accepted with port %s', (proxy, port) => {
    expect(configOf({ network: { ...PRIVATE_NETWORK, proxy } }).network!.proxy).toBe(proxy);
    expect(proxyPort(proxy)).toBe(port);
  });

  test('GIVEN no proxy THEN it is null', () => {
    expect(configOf({ network: PRIVATE_NETWORK }).network!.proxy).toBeNull();
  });

  test.each([
    ['socks5://proxy.corp.example:1080', '"socks5:"'],
    ['ftp://proxy.corp.example:21', '"ftp:"'],
    ['proxy.corp.example:3128', 'http://'],
    ['http://proxy.corp.example', 'port'],
    ['http://proxy.corp.example:3128/path', 'no path'],
    ['http://proxy.corp.example:3128?x=1', 'query'],
    ["http://proxy.corp.example:3128'; rm -rf /", 'shell'],
  ])('GIVEN %s THEN it is refused (%s)', (proxy, fragment) => {
    expectOneProblem({ network: { ...PRIVATE_NETWORK, proxy } }, 'network.proxy', fragment);
  });

  test('GIVEN a proxy URL with a password THEN it is refused and the password is not echoed', () => {
    const line = expectOneProblem({ network: { ...PRIVATE_NETWORK, proxy: 'http://svc:S3cretPw@proxy.corp.example:3128' } }, 'network.proxy', 'credentials');
    expect(line).not.toContain('S3cretPw');
  });
});

describe('the README’s existing-network example', () => {
  test('GIVEN the example config of "An existing network" THEN it is valid as written', () => {
    const readme = require('fs').readFileSync(require('path').join(__dirname, '..', '..', 'README.md'), 'utf8') as string;
    const section = readme.slice(readme.indexOf('## An existing network'));
    const example = /```json\n([\s\S]*?)```/.exec(section)![1];
    const network = configOf(JSON.parse(example)).network!;
    expect(network).toMatchObject({ proxy: 'http://proxy.corp.example:3128', endpoints: 'create', schedulerAddress: '10.20.1.10' });
  });
});
