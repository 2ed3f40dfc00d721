/**
 * Unit tests of the config contract (lib/config): defaults, one test per class
 * of rejected value (each asserting the message names the field and what is
 * accepted), loading from files, and drift of the committed JSON schema.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configErrorOf, expectOneProblem } from './config-errors';
import {
  architectureOf,
  cidrProblem,
  ConfigError,
  DasklabConfig,
  loadConfig,
  parseCidr,
  parseInstanceType,
  parseRequirement,
  renderJsonSchema,
  requirementProblem,
  resolveConfigPath,
  validateConfig,
} from '../../lib/config';
import { addressesCovered } from '../../lib/config/cidr';

const REPO_ROOT = path.join(__dirname, '..', '..');



/** SSH wire-format string: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** SSH mpint: a leading zero byte when the high bit is set, so the number stays positive. */
function mpint(data: Buffer): Buffer {
  return data[0] & 0x80 ? Buffer.concat([Buffer.from([0]), data]) : data;
}

/** A fresh ed25519 public key as one OpenSSH line. */
function ed25519Line(comment = 'alice@laptop'): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x!, 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** A fresh RSA public key of `bits` bits as one OpenSSH line. */
function rsaLine(bits: number): string {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  const e = mpint(Buffer.from(jwk.e!, 'base64url'));
  const n = mpint(Buffer.from(jwk.n!, 'base64url'));
  const blob = Buffer.concat([sshString('ssh-rsa'), sshString(e), sshString(n)]);
  return `ssh-rsa ${blob.toString('base64')} bob@desk`;
}

/** A scratch directory, removed after each test. */
let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-config-'));
});
afterEach(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Writes `text` to a scratch file and returns its path. */
function scratchFile(name: string, text: string): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, text);
  return file;
}

const DEFAULTS: DasklabConfig = {
  name: 'dasklab',
  access: { sshCidrs: [], dashboardCidrs: [], publicKey: null, allowWorldOpen: [] },
  machine: { instanceType: 't3.medium', diskGiB: 30, ubuntu: '24.04', readyTimeoutMinutes: 30, bake: false },
  python: { version: '3.12', packages: ['numpy', 'dask[complete]'], indexUrl: null, codeArtifact: null, venv: '/opt/dask/venv', lockFile: null },
};

describe('defaults', () => {
  test('every default is filled in from a config holding only a name', () => {
    // GIVEN a config with only a name
    // WHEN it is validated
    const config = validateConfig({ name: 'class-a' });
    // THEN every section has its defaults and there is no cluster
    expect(config).toEqual({ ...DEFAULTS, name: 'class-a' });
    expect(config.cluster).toBeUndefined();
  });

  test('an empty object gets the default name too', () => {
    // GIVEN an empty config WHEN validated THEN it is the embedded default
    expect(validateConfig({})).toEqual(DEFAULTS);
  });

  test('a partly written section keeps the fields it has and gets the rest', () => {
    // GIVEN a machine section with only the disk size
    // WHEN validated
    const config = validateConfig({ machine: { diskGiB: 100 } });
    // THEN the other machine fields are defaulted
    expect(config.machine).toEqual({ ...DEFAULTS.machine, diskGiB: 100 });
  });

  test('an empty cluster section means a cluster with default settings', () => {
    // GIVEN "cluster": {} WHEN validated THEN the cluster defaults are filled in
    expect(validateConfig({ cluster: {} }).cluster).toEqual({
      workers: 2,
      schedulerInstanceType: 't3.medium',
      workerInstanceType: 't3.large',
      spot: false,
      tls: true,
      jupyter: false,
    });
  });

  test('the committed dasklab.config.json is the embedded default', () => {
    // GIVEN the config file at the repository root
    // WHEN it is loaded
    const config = loadConfig(path.join(REPO_ROOT, 'dasklab.config.json'));
    // THEN it equals the defaults (plus its $schema pointer)
    expect(config).toEqual({ ...DEFAULTS, $schema: './dasklab.schema.json' });
  });
});

describe('unknown fields', () => {
  test('an unknown top-level field is rejected, with the accepted fields and a suggestion', () => {
    // GIVEN a misspelled top-level field WHEN validated
    // THEN the message names it, suggests the right one and lists the accepted ones
    expectOneProblem({ nmae: 'x' }, 'nmae', '"x" is not accepted', 'unknown field', 'did you mean "name"?', '$schema, name, access, machine, python, cluster');
  });

  test('an unknown nested field is rejected with its full path', () => {
    // GIVEN "diskGB" instead of "diskGiB" WHEN validated
    // THEN the message names machine.diskGB and lists machine's fields
    expectOneProblem({ machine: { diskGB: 40 } }, 'machine.diskGB', '40 is not accepted', 'did you mean "diskGiB"?', 'instanceType, diskGiB, ubuntu, readyTimeoutMinutes');
  });

  test('each unknown field is its own problem', () => {
    // GIVEN two unknown fields in the cluster section WHEN validated THEN two lines
    const { problems } = configErrorOf({ cluster: { nodes: 3, gpu: true } });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^cluster\.nodes: 3 is not accepted; unknown field/);
    expect(problems[1]).toMatch(/^cluster\.gpu: true is not accepted; unknown field/);
  });

  test('a section that is not an object lists the fields it should have', () => {
    // GIVEN "access": "anyone" WHEN validated THEN the accepted shape is named
    expectOneProblem({ access: 'anyone' }, 'access', '"anyone" is not accepted', 'an object with the fields sshCidrs, dashboardCidrs, publicKey');
  });

  test('a config that is not an object is rejected at the top level', () => {
    // GIVEN a JSON array WHEN validated THEN the problem is the top level itself
    expectOneProblem([], '(top level)', 'expected a JSON object');
  });
});

describe('access CIDRs', () => {
  test('a malformed CIDR is rejected with examples of accepted ones', () => {
    // GIVEN text that is no CIDR WHEN validated THEN the message shows the accepted forms
    expectOneProblem({ access: { sshCidrs: ['my office'] } }, 'access.sshCidrs[0]', '"my office" is not accepted', 'expected an IPv4 or IPv6 CIDR such as "203.0.113.0/24"');
    expectOneProblem({ access: { sshCidrs: ['256.1.1.1/32'] } }, 'access.sshCidrs[0]', 'expected an IPv4 or IPv6 CIDR');
  });

  test('an address without a prefix length is rejected, suggesting /32', () => {
    // GIVEN a bare IPv4 address WHEN validated THEN the /32 form is suggested
    // (not the example address of the accepted forms, which every rejection quotes)
    expectOneProblem({ access: { dashboardCidrs: ['192.0.2.7'] } }, 'access.dashboardCidrs[0]', 'add the prefix length, e.g. "192.0.2.7/32" for this one address');
  });

  test('an IPv4 prefix longer than 32 is rejected', () => {
    // GIVEN "/33" WHEN validated THEN the accepted range is named
    expectOneProblem({ access: { sshCidrs: ['10.0.0.0/33'] } }, 'access.sshCidrs[0]', '"10.0.0.0/33" is not accepted', 'prefix length from 0 to 32');
  });

  test('a CIDR with host bits set is rejected, suggesting the network address', () => {
    // GIVEN 10.1.2.3/8 WHEN validated THEN 10.0.0.0/8 and 10.1.2.3/32 are suggested
    expectOneProblem({ access: { sshCidrs: ['10.1.2.3/8'] } }, 'access.sshCidrs[0]', 'host bits zero', '"10.0.0.0/8"', '"10.1.2.3/32"');
    // AND the same holds for IPv6
    expectOneProblem({ access: { sshCidrs: ['2001:db8::1/32'] } }, 'access.sshCidrs[0]', '"2001:db8::/32"');
  });

  test('valid IPv6 CIDRs are accepted, in any valid spelling', () => {
    // GIVEN IPv6 CIDRs, compressed, upper case, full and with an embedded IPv4 address
    const cidrs = ['2001:db8::/48', '2001:DB8:0:1::/64', 'fe80:0:0:0:0:0:0:0/64', '::ffff:192.0.2.0/120', '2001:db8::7/128'];
    // WHEN validated THEN they are accepted unchanged (no silent rewriting)
    expect(validateConfig({ access: { sshCidrs: cidrs } }).access.sshCidrs).toEqual(cidrs);
    // AND their canonical form follows RFC 5952
    expect(parseCidr('2001:DB8:0:1::/64').canonical).toBe('2001:db8:0:1::/64');
  });

  test('a malformed IPv6 CIDR is rejected', () => {
    // GIVEN two "::" and a too-long prefix WHEN validated THEN both are rejected
    expectOneProblem({ access: { sshCidrs: ['2001::db8::/32'] } }, 'access.sshCidrs[0]', 'expected an IPv4 or IPv6 CIDR');
    expectOneProblem({ access: { sshCidrs: ['2001:db8::/129'] } }, 'access.sshCidrs[0]', 'prefix length from 0 to 128');
  });

  test('the same CIDR listed twice is rejected, also in another spelling', () => {
    // GIVEN one block written twice WHEN validated THEN the second names the first
    expectOneProblem({ access: { sshCidrs: ['2001:db8::/32', '2001:DB8:0::/32'] } }, 'access.sshCidrs[1]', 'expected each CIDR once', 'entry [0]');
  });
});

describe('CIDR parsing', () => {
  const EXPECTED = 'expected an IPv4 or IPv6 CIDR such as "203.0.113.0/24", "198.51.100.7/32" or "2001:db8::/32"';

  test('a parsed block carries its version, address, prefix and canonical text', () => {
    expect(parseCidr('203.0.113.0/24')).toEqual({ version: 4, address: 0xcb007100n, prefix: 24, canonical: '203.0.113.0/24' });
    expect(parseCidr('255.255.255.255/32')).toEqual({ version: 4, address: 0xffffffffn, prefix: 32, canonical: '255.255.255.255/32' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ version: 4, address: 0n, prefix: 0, canonical: '0.0.0.0/0' });
    expect(parseCidr('2001:db8::/32')).toEqual({ version: 6, address: 0x20010db8n << 96n, prefix: 32, canonical: '2001:db8::/32' });
    expect(parseCidr('::/128')).toEqual({ version: 6, address: 0n, prefix: 128, canonical: '::/128' });
  });

  test('text that is no address gets the accepted forms alone, an address without a prefix the /32 or /128 form', () => {
    expect(cidrProblem('my office')).toBe(EXPECTED);
    expect(cidrProblem('my office/24')).toBe(EXPECTED);
    expect(cidrProblem('198.51.100.7')).toBe(`${EXPECTED}; add the prefix length, e.g. "198.51.100.7/32" for this one address`);
    expect(cidrProblem('2001:db8::7')).toBe(`${EXPECTED}; add the prefix length, e.g. "2001:db8::7/128" for this one address`);
  });

  test.each(['010.0.0.0/8', '10.0.0.01/32', '1.2.3.4.5/32', '10.0.0/8', '1.2.3/24', '1.2.3.256/32', '1e2.0.0.0/8', '10..0.0/8', ' 10.0.0.0/8'])(
    'an IPv4 address that is not four decimal octets from 0 to 255 without leading zeros (%s) is refused',
    (cidr) => {
      expect(cidrProblem(cidr)).toBe(EXPECTED);
    },
  );

  test.each(['10.0.0.0/', '10.0.0.0/08', '10.0.0.0/8x', '10.0.0.0/x', '10.0.0.0/ 8', '10.0.0.0/+8', '10.0.0.0/-0', '10.0.0.0/1e1', '10.0.0.0/8/8', '10.0.0.0/33', '10.0.0.0/100'])(
    'an IPv4 prefix that is not a number from 0 to 32 without leading zeros (%s) is refused',
    (cidr) => {
      expect(cidrProblem(cidr)).toBe('expected an IPv4 prefix length from 0 to 32 after "/"');
    },
  );

  test.each(['::/0123', '::/', '::/x', '::/129', '::/1000'])('an IPv6 prefix that is not a number from 0 to 128 (%s) is refused', (cidr) => {
    expect(cidrProblem(cidr)).toBe('expected an IPv6 prefix length from 0 to 128 after "/"');
  });

  test('prefixes at both ends are accepted', () => {
    for (const cidr of ['0.0.0.0/0', '198.51.100.7/32', '255.255.255.255/32', '::/0', '2001:db8::7/128', '2001:db8::/100']) {
      expect(cidrProblem(cidr)).toBeNull();
    }
  });

  test('a block with host bits set names its network address and the one-address form', () => {
    expect(cidrProblem('10.1.2.3/8')).toBe(
      'expected a network address with the host bits zero: "10.0.0.0/8" for the whole block, or "10.1.2.3/32" for this one address',
    );
    // the lowest host bit alone, and the one just below the prefix
    expect(cidrProblem('10.0.0.1/31')).toContain('"10.0.0.0/31" for the whole block');
    expect(cidrProblem('11.0.0.0/7')).toContain('"10.0.0.0/7" for the whole block, or "11.0.0.0/32"');
    expect(cidrProblem('2001:db8::1/32')).toBe(
      'expected a network address with the host bits zero: "2001:db8::/32" for the whole block, or "2001:db8::1/128" for this one address',
    );
  });

  test('parseCidr throws the reason, naming the value', () => {
    expect(() => parseCidr('10.1.2.3/8')).toThrow('"10.1.2.3/8" is not a valid CIDR; expected a network address with the host bits zero: "10.0.0.0/8"');
    expect(() => parseCidr('my office')).toThrow(`"my office" is not a valid CIDR; ${EXPECTED}`);
  });
});

describe('addresses covered by a list of CIDRs', () => {
  const covered = (cidrs: string[], version: 4 | 6) => addressesCovered(cidrs.map(parseCidr), version);

  test.each([
    ['nothing', [], 0n],
    ['one address', ['0.0.0.0/32'], 1n],
    ['everything', ['0.0.0.0/0'], 1n << 32n],
    ['two /8s listed high to low', ['12.0.0.0/8', '11.0.0.0/8'], 1n << 25n],
    ['halves of a /8 listed out of order, with a block inside one', ['10.128.0.0/9', '10.0.0.0/16', '10.0.0.0/9'], 1n << 24n],
    ['a /9 listed before the /8 that starts with it', ['10.0.0.0/9', '10.0.0.0/8'], 1n << 24n],
    ['a /8, a /9 inside it, and one address after it', ['10.0.0.0/8', '10.0.0.0/9', '11.0.0.0/32'], (1n << 24n) + 1n],
    ['a /8 and its last address', ['10.0.0.0/8', '10.255.255.255/32'], 1n << 24n],
    ['the same block twice', ['10.0.0.0/8', '10.0.0.0/8'], 1n << 24n],
  ])('IPv4, %s', (_what, cidrs, total) => {
    expect(covered(cidrs, 4)).toBe(total);
  });

  test('each version counts only its own blocks', () => {
    const cidrs = ['10.0.0.0/8', '2001:db8::/32', '::/0', '192.0.2.0/24'];
    expect(covered(cidrs, 4)).toBe((1n << 24n) + 256n);
    expect(covered(cidrs, 6)).toBe(1n << 128n);
    expect(covered(['2001:db8::/33', '2001:db8:8000::/33'], 6)).toBe(1n << 96n);
  });
});

describe('access.publicKey', () => {
  test('valid ed25519 and RSA (>= 2048 bit) keys are accepted', () => {
    // GIVEN freshly generated keys WHEN validated THEN they are accepted as written
    const ed = ed25519Line();
    expect(validateConfig({ access: { publicKey: ed } }).access.publicKey).toBe(ed);
    expect(validateConfig({ access: { publicKey: rsaLine(2048) } }).access.publicKey).toMatch(/^ssh-rsa /);
  });

  test('text that is not a public key line is rejected with the expected form', () => {
    // GIVEN a random string WHEN validated THEN the OpenSSH line format is named
    expectOneProblem({ access: { publicKey: 'hello' } }, 'access.publicKey', '"hello" is not accepted', '"ssh-ed25519 AAAA... [comment]"');
  });

  test('a key whose data is not base64 is rejected', () => {
    // GIVEN a key line cut in the middle of its base64 data WHEN validated THEN base64 is named
    const cut = ed25519Line().slice(0, 41);
    expectOneProblem({ access: { publicKey: cut } }, 'access.publicKey', 'not valid base64');
  });

  test('a key whose embedded type differs from its prefix is rejected', () => {
    // GIVEN ed25519 key data labelled ssh-rsa WHEN validated THEN the mismatch is named
    const relabelled = ed25519Line().replace(/^ssh-ed25519/, 'ssh-rsa');
    expectOneProblem({ access: { publicKey: relabelled } }, 'access.publicKey', '"ssh-ed25519" key but the line starts with "ssh-rsa"');
  });

  test('key types EC2 cannot import are rejected', () => {
    // GIVEN an ECDSA key line WHEN validated THEN only ed25519 and rsa are offered
    expectOneProblem({ access: { publicKey: 'ecdsa-sha2-nistp256 AAAAE2VjZHNh x' } }, 'access.publicKey', 'only ssh-ed25519 and ssh-rsa');
  });

  test('an RSA key shorter than 2048 bits is rejected', () => {
    // GIVEN a 1024-bit RSA key WHEN validated THEN the minimum and its size are named
    expectOneProblem({ access: { publicKey: rsaLine(1024) } }, 'access.publicKey', 'at least 2048 bits', 'has 1024');
  });

  test('a private key is rejected with a warning, and is not echoed', () => {
    // GIVEN a private key pasted into the config
    const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // WHEN validated
    const line = expectOneProblem({ access: { publicKey: privateKey } }, 'access.publicKey', 'PRIVATE key', 'Never put a private key in config');
    // THEN no part of the key appears in the message
    const body = privateKey.split('\n')[1];
    expect(line).not.toContain(body.slice(0, 16));
    expect(line).toContain('(not shown)');
  });
});

describe('instance types', () => {
  test('known instance types are accepted, with their architecture', () => {
    // GIVEN x86 and Graviton types WHEN parsed THEN family, size and architecture are right
    expect(parseInstanceType('m7i-flex.2xlarge')).toEqual({ family: 'm7i-flex', size: '2xlarge', architecture: 'x86_64' });
    expect(architectureOf('c7g.metal')).toBe('arm64');
    expect(architectureOf('t4g.nano')).toBe('arm64');
    expect(architectureOf('m8g.metal-24xl')).toBe('arm64');
    expect(architectureOf('g4dn.xlarge')).toBe('x86_64');
    expect(validateConfig({ cluster: { schedulerInstanceType: 'm7g.large', workerInstanceType: 'r7a.48xlarge' } }).cluster?.workerInstanceType).toBe('r7a.48xlarge');
  });

  test('a value that is not <family>.<size> is rejected', () => {
    // GIVEN "t3medium" and "T3.medium" WHEN validated THEN the form is explained
    expectOneProblem({ machine: { instanceType: 't3medium' } }, 'machine.instanceType', '"t3medium" is not accepted', '<family>.<size>', '"t3.medium"');
    expectOneProblem({ machine: { instanceType: 'T3.medium' } }, 'machine.instanceType', '<family>.<size> in lower case');
  });

  test('an unknown family is rejected, listing families of its class', () => {
    // GIVEN a family that does not exist WHEN validated THEN known m families are listed
    expectOneProblem({ machine: { instanceType: 'm99.large' } }, 'machine.instanceType', '"m99" is not one', 'm5', 'm7i-flex');
  });

  test('a size the family does not come in is rejected, listing its sizes', () => {
    // GIVEN t3.metal and m7g.nano WHEN validated THEN each family's sizes are listed
    expectOneProblem({ machine: { instanceType: 't3.metal' } }, 'machine.instanceType', 'expected a size that t3 comes in: nano, micro');
    expectOneProblem({ cluster: { workerInstanceType: 'm7g.nano' } }, 'cluster.workerInstanceType', 'expected a size that m7g comes in: medium');
    // AND parseInstanceType throws the same reason
    expect(() => parseInstanceType('t3.metal')).toThrow(/"t3.metal" is not an instance type dasklab accepts; expected a size that t3 comes in/);
  });
});

describe('machine numbers', () => {
  test('a disk size out of range is rejected with the range', () => {
    // GIVEN 5 GiB and 20000 GiB WHEN validated THEN the range 8..16384 is named
    expect(expectOneProblem({ machine: { diskGiB: 5 } }, 'machine.diskGiB')).toBe('machine.diskGiB: 5 is not accepted; expected an integer from 8 to 16384');
    expectOneProblem({ machine: { diskGiB: 20000 } }, 'machine.diskGiB', 'expected an integer from 8 to 16384');
  });

  test('a disk size that is not an integer is rejected, and strings are not coerced', () => {
    // GIVEN 30.5 and "30" WHEN validated THEN both are rejected with the same message
    expectOneProblem({ machine: { diskGiB: 30.5 } }, 'machine.diskGiB', '30.5 is not accepted', 'expected an integer from 8 to 16384');
    expectOneProblem({ machine: { diskGiB: '30' } }, 'machine.diskGiB', '"30" is not accepted', 'expected an integer');
  });

  test('a ready timeout out of range is rejected', () => {
    // GIVEN 1 minute WHEN validated THEN 5..720 is named
    expectOneProblem({ machine: { readyTimeoutMinutes: 1 } }, 'machine.readyTimeoutMinutes', 'expected an integer from 5 to 720');
  });

  test('an unsupported Ubuntu release is rejected, listing the supported ones', () => {
    // GIVEN 22.04 WHEN validated THEN "24.04" is offered
    expectOneProblem({ machine: { ubuntu: '22.04' } }, 'machine.ubuntu', '"22.04" is not accepted', '"24.04"');
  });
});

describe('python.version', () => {
  test.each([['3'], ['2.7'], ['3.12.1'], ['python3.12'], ['3.012']])('%s is not of the form 3.N', (version) => {
    // GIVEN a version that is not "3.N" WHEN validated THEN the form is named
    expectOneProblem({ python: { version } }, 'python.version', `${JSON.stringify(version)} is not accepted`, 'of the form "3.N"');
  });

  test('a number instead of a string is rejected, explaining why quotes matter', () => {
    // GIVEN 3.12 as a JSON number WHEN validated THEN the message asks for a string
    expectOneProblem({ python: { version: 3.12 } }, 'python.version', '3.12 is not accepted', 'string "3.N"');
  });

  test('a version the Ubuntu release does not offer is rejected, naming what it offers', () => {
    // GIVEN Python 3.11 on Ubuntu 24.04 WHEN validated THEN 24.04's versions are named
    expectOneProblem({ python: { version: '3.11' } }, 'python.version', '"3.11" is not accepted', 'Ubuntu 24.04 offers: "3.12"');
  });
});

describe('python.packages', () => {
  test('requirements pip accepts are accepted', () => {
    // GIVEN a variety of valid requirement specs
    const packages = [
      'numpy',
      'dask[complete]>=2024.1,<2026',
      'pandas==2.2.*',
      'scipy (~=1.13)',
      'zarr!=2.18.0',
      'pyarrow; platform_machine == "x86_64"',
      'bokeh>=3.1 ; python_version >= \'3.10\'',
      'My_Pkg.Two[extra-one, extra2]===1.0-custom',
      'mypkg @ https://example.org/mypkg-1.0-py3-none-any.whl#sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'other @ https://github.com/acme/other/releases/download/v1.0/other-1.0-py3-none-any.whl',
      'torch==2.3.0+cpu',
      'cython>=3.0.0rc1',
    ];
    // WHEN validated THEN they are all accepted unchanged
    expect(validateConfig({ python: { packages } }).python.packages).toEqual(packages);
    // AND the parts are recognised
    expect(parseRequirement('dask[complete]>=2024.1,<2026')).toEqual({ name: 'dask', extras: ['complete'], specifiers: ['>=2024.1', '<2026'], url: null, marker: null });
  });

  test.each([
    ['numpy\nrm -rf /', 'line break'],
    ['numpy`id`', 'backtick'],
    ['numpy$(id)', '"$"'],
    ['"numpy"', 'quote'],
    ["numpy=='1.0'", 'quote'],
    ['numpy\\', 'backslash'],
    ['numpy=1.26', 'use "==" instead of "="'],
    ['numpy>=1.0.*', 'only == and != can'],
    ['numpy~=1', 'at least two release numbers'],
    ['numpy>=banana', 'not a PEP 440 version'],
    ['-r requirements.txt', 'not a pip option'],
    ['./local/pkg', 'start with a project name'],
    ['dask[complete', 'closed with "]"'],
    ['dask[com plete]', 'extras to be names'],
    ['pkg @ file:///tmp/x.whl', 'an https:// URL'],
    ['pkg @ http://example.org/pkg-1.0-py3-none-any.whl', 'an https:// URL'],
    ['pkg @ git+http://example.org/pkg.git', 'an https:// URL'],
    ['pkg @ git+https://example.org/pkg.git', 'an https:// URL'],
    ['pkg @ https://bucket.s3.amazonaws.com/pkg.whl?X-Amz-Signature=abc123', 'a query string'],
    ['pkg @ https://example.org/pkg.whl#egg=pkg', 'a "#sha256=<hex>" hash'],
    ['pkg @ https://example.org/pkg.whl#', 'a "#sha256=<hex>" hash'],
    ['pkg @ https://pypi.fury.io/Xa8Kq2mZp9Lr4Tw7Yb3N/acme/pkg.whl', 'looks like a token'],
    ['pkg @ https://example.org/ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/pkg.whl', 'looks like a token'],
    ['pkg-1.0-py3-none-any.whl', 'a local file'],
    ['pkg.tar.gz', 'a local file'],
    ['pkg @ https://user:pw@host/pkg.whl', 'without credentials'],
    ['git+https://github.com/dask/dask', 'expected "name @ URL"'],
    ['pkg;', 'the marker is empty'],
    ['pkg; python_version', 'the marker compares nothing'],
    ['pkg; os.system("x") && true', 'does not belong in a marker'],
    [' numpy', 'no leading or trailing spaces'],
    ['', 'empty string'],
  ])('%j is rejected (%s)', (spec, reason) => {
    // GIVEN a spec pip would reject or that is unsafe in a script
    // WHEN validated THEN the field, the reason and the accepted form are named
    expectOneProblem({ python: { packages: ['numpy', spec] } }, 'python.packages[1]', reason, 'expected');
    expect(requirementProblem(spec)).toContain(reason);
  });

  test('an empty package list is rejected', () => {
    // GIVEN no packages WHEN validated THEN 1 to 100 is named
    expectOneProblem({ python: { packages: [] } }, 'python.packages', '[] is not accepted', 'expected a list of 1 to 100 pip requirements');
  });

  test('more than 100 packages are rejected', () => {
    // GIVEN 101 distinct packages WHEN validated THEN the limit is named
    const packages = Array.from({ length: 101 }, (_, i) => `pkg${i}`);
    expectOneProblem({ python: { packages } }, 'python.packages', 'expected a list of 1 to 100');
  });

  test('a project listed twice is rejected, also in another spelling', () => {
    // GIVEN Dask twice (different case and extras) WHEN validated THEN the first entry is named
    expectOneProblem({ python: { packages: ['dask[complete]', 'numpy', 'Dask>=2024.1'] } }, 'python.packages[2]', 'expected each project once', '"dask" is already entry [0]');
    expectOneProblem({ python: { packages: ['typing_extensions', 'typing-extensions'] } }, 'python.packages[1]', 'entry [0]');
  });

  test('a cluster needs dask.distributed among the packages', () => {
    // GIVEN a cluster and packages without distributed WHEN validated THEN the options are named
    expectOneProblem({ python: { packages: ['numpy', 'dask'] }, cluster: {} }, 'python.packages', '"dask[complete]", "dask[distributed]" or "distributed"');
    // AND any of those is enough
    expect(validateConfig({ python: { packages: ['dask[distributed]'] }, cluster: {} }).cluster).toBeDefined();
    expect(validateConfig({ python: { packages: ['distributed==2024.12.1'] }, cluster: {} }).cluster).toBeDefined();
  });

  test('a package that is not a string is rejected', () => {
    // GIVEN a number in the list WHEN validated THEN a requirement string is asked for
    expectOneProblem({ python: { packages: ['numpy', 2] } }, 'python.packages[1]', '2 is not accepted', 'expected a pip requirement string');
  });
});

describe('python.indexUrl', () => {
  test('https index URLs and null are accepted', () => {
    // GIVEN an https index WHEN validated THEN it is kept
    expect(validateConfig({ python: { indexUrl: 'https://pypi.example.org/simple/' } }).python.indexUrl).toBe('https://pypi.example.org/simple/');
    expect(validateConfig({ python: { indexUrl: 'https://10.0.0.5:8443/root/pypi/+simple/' } }).python.indexUrl).toBe('https://10.0.0.5:8443/root/pypi/+simple/');
    expect(
      validateConfig({ python: { indexUrl: 'https://pkgs.dev.azure.com/acme/6e5b2d4c-1a2b-4c3d-8e9f-0a1b2c3d4e5f/_packaging/feed/pypi/simple/' } }).python.indexUrl,
    ).toContain('_packaging');
    expect(validateConfig({ python: { indexUrl: null } }).python.indexUrl).toBeNull();
  });

  test.each([
    ['not a url', 'contains a space'],
    ['pypi.example.org/simple', 'expected the https URL of a PEP 503 simple index'],
    ['ftp://pypi.example.org/simple', '"ftp:" URLs are not supported'],
    ['http://10.0.0.5:8080/simple', 'plain http'],
    ['HTTP://pypi.example.org/simple', 'plain http'],
    ['file:///srv/simple', '"file:" URLs are not supported'],
    ['https://user:secret@pypi.example.org/simple', 'without credentials'],
    ['https://aws:@pypi.example.org/simple', 'without credentials'],
    ['https://pypi.example.org/simple?token=s3cr3t', 'a query string'],
    ['https://pypi.example.org/simple?', 'a query string'],
    ['https://pypi.example.org/simple#x', 'a fragment'],
    ['https://pypi.fury.io/Xa8Kq2mZp9Lr4Tw7Yb3N/acme/', 'looks like a token'],
    ['https://pypi.example.org/pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw/simple/', 'looks like a token'],
    ['https://pypi.example.org/eyJ2ZXIiOjEsImlzdSI6MTY/simple/', 'looks like a token'],
  ])('%j is rejected', (indexUrl, reason) => {
    // GIVEN a bad index URL WHEN validated THEN the field and what is accepted are named
    expectOneProblem({ python: { indexUrl } }, 'python.indexUrl', reason, 'PEP 503');
  });

  test('a rejected index URL with a token is not echoed in full', () => {
    // GIVEN a token in the query WHEN validated THEN the token does not appear in the message
    const { message } = configErrorOf({ python: { indexUrl: 'https://pypi.example.org/simple/?token=s3cr3t-value-0123456789' } });
    expect(message).toContain('python.indexUrl');
    expect(message).not.toContain('s3cr3t-value-0123456789');
  });
});

describe('messages about hostile values', () => {
  test('invisible and line-separator characters in a value are shown escaped', () => {
    // GIVEN a package with U+2028 (a line separator to a terminal) and one with a bidi override
    const { problems } = configErrorOf({ python: { packages: ['numpy\u2028', 'dask\u202e'] } });
    // THEN the messages show the code points, not the characters
    expect(problems[0]).toContain('"numpy\\u2028"');
    expect(problems[1]).toContain('"dask\\u202e"');
    for (const line of problems) expect(line).not.toMatch(/[\u2028\u2029\u202a-\u202e\u0080-\u009f]/);
  });

  test('one problem is reported once', () => {
    // GIVEN a disk size beyond every integer check
    const { problems } = configErrorOf({ machine: { diskGiB: 1e308 } });
    expect(problems).toEqual(['machine.diskGiB: 1e+308 is not accepted; expected an integer from 8 to 16384']);
  });

  test.each([
    ["numpy; os_name == 'posix' and __import__('os')", '"__import__" is not a marker variable'],
    ["numpy; sys.platform == 'linux'", '"sys.platform" is not a marker variable'],
  ])('a marker with names pip does not know is rejected: %j', (spec, reason) => {
    expectOneProblem({ python: { packages: [spec] } }, 'python.packages[0]', reason, 'python_version');
  });

  test('markers with the PEP 508 variables are accepted', () => {
    const packages = ["numpy; sys_platform == 'linux' and platform_machine in 'x86_64 aarch64'", "dask; python_full_version >= '3.12.0' or implementation_name != 'pypy'"];
    expect(validateConfig({ python: { packages } }).python.packages).toEqual(packages);
  });
});

describe('python.codeArtifact', () => {
  test('a repository is accepted, with the owner and region optional', () => {
    // GIVEN a CodeArtifact repository of this account, and one of another account and region
    const own = validateConfig({ python: { codeArtifact: { domain: 'acme', repository: 'pypi-store' } } }).python.codeArtifact;
    const other = validateConfig({
      python: { codeArtifact: { domain: 'acme-corp', repository: 'Team.Python_1', domainOwner: '111122223333', region: 'eu-central-1' } },
    }).python.codeArtifact;
    // THEN the owner and region default to null (the stack's account and region)
    expect(own).toEqual({ domain: 'acme', repository: 'pypi-store', domainOwner: null, region: null });
    expect(other).toEqual({ domain: 'acme-corp', repository: 'Team.Python_1', domainOwner: '111122223333', region: 'eu-central-1' });
  });

  test.each([
    [{ domain: 'Acme', repository: 'pypi' }, 'python.codeArtifact.domain', 'a CodeArtifact domain name'],
    [{ domain: 'a', repository: 'pypi' }, 'python.codeArtifact.domain', '2 to 50'],
    [{ domain: 'acme-', repository: 'pypi' }, 'python.codeArtifact.domain', 'ending with a letter or digit'],
    [{ domain: 'acme', repository: '-pypi' }, 'python.codeArtifact.repository', 'a CodeArtifact repository name'],
    [{ domain: 'acme', repository: 'py pi' }, 'python.codeArtifact.repository', '2 to 100'],
    [{ domain: 'acme', repository: 'pypi', domainOwner: '1111-2222-3333' }, 'python.codeArtifact.domainOwner', '12-digit'],
    [{ domain: 'acme', repository: 'pypi', domainOwner: 111122223333 }, 'python.codeArtifact.domainOwner', '12-digit'],
    [{ domain: 'acme', repository: 'pypi', region: 'Frankfurt' }, 'python.codeArtifact.region', 'an AWS region'],
    [{ domain: 'acme', repository: 'pypi', token: 'x' }, 'python.codeArtifact.token', 'unknown field'],
    [{ domain: 'acme' }, 'python.codeArtifact.repository', 'is missing'],
  ])('%j is rejected', (codeArtifact, field, reason) => {
    expectOneProblem({ python: { codeArtifact } }, field, reason);
  });

  test('not together with indexUrl', () => {
    expectOneProblem(
      { python: { indexUrl: 'https://pypi.example.org/simple/', codeArtifact: { domain: 'acme', repository: 'pypi' } } },
      'python.codeArtifact',
      'expected either python.indexUrl or python.codeArtifact, not both',
    );
  });
});

describe('python.venv', () => {
  test.each([
    ['opt/venv', 'expected an absolute path'],
    ['/', 'expected an absolute path'],
    ['/opt/../etc/venv', 'no ".."'],
    ['/opt/venv/', 'trailing "/"'],
    ['/opt/my venv', 'expected an absolute path'],
    ['/opt/$HOME', 'expected an absolute path'],
    ['/tmp/venv', 'under /opt/ or /srv/'],
    ['/run', 'under /opt/ or /srv/'],
    ['/dev/shm/venv', 'under /opt/ or /srv/'],
    ['/opt/-rf', 'start with "-"'],
    // System and home directories, and dasklab's own state: the venv phase may replace the venv.
    ['/etc', 'under /opt/ or /srv/'],
    ['/usr', 'under /opt/ or /srv/'],
    ['/usr/local', 'under /opt/ or /srv/'],
    ['/home/ubuntu', 'under /opt/ or /srv/'],
    ['/home/ubuntu/venv', 'under /opt/ or /srv/'],
    ['/root/venv', 'under /opt/ or /srv/'],
    ['/var/lib/dasklab', 'under /opt/ or /srv/'],
    ['/var/lib/dasklab/venv', 'under /opt/ or /srv/'],
    ['/opt', 'a directory of its own under /opt/ or /srv/'],
    ['/srv', 'a directory of its own under /opt/ or /srv/'],
    ['/optional/venv', 'under /opt/ or /srv/'],
  ])('%j is rejected', (venv, reason) => {
    // GIVEN an unsafe venv path WHEN validated THEN the field and the accepted form are named
    expectOneProblem({ python: { venv } }, 'python.venv', `${JSON.stringify(venv)} is not accepted`, reason);
  });

  test.each([['/srv/dask/venv-3.12'], ['/opt/venv'], ['/opt/dask/venv'], ['/srv/x']])('%j is accepted', (venv) => {
    expect(validateConfig({ python: { venv } }).python.venv).toBe(venv);
  });
});

describe('name', () => {
  test.each([['Dasklab'], ['a'], ['my--lab'], ['-lab'], ['lab-'], ['1lab'], ['x'.repeat(25)], ['lab_1']])('%j is rejected', (name) => {
    // GIVEN a name unusable as a stack-name prefix WHEN validated THEN the rules are named
    expectOneProblem({ name }, 'name', `${JSON.stringify(name)} is not accepted`, 'lower-case letters, digits and single hyphens');
  });

  test('a name that is not a string is rejected', () => {
    // GIVEN a number WHEN validated THEN a string is asked for
    expectOneProblem({ name: 7 }, 'name', '7 is not accepted', 'expected a name string');
  });

  test('names of 2 and 24 characters are accepted', () => {
    // GIVEN the shortest and longest names WHEN validated THEN they are kept
    expect(validateConfig({ name: 'ab' }).name).toBe('ab');
    expect(validateConfig({ name: `a${'-b'.repeat(11)}c` }).name).toHaveLength(24);
  });
});

describe('cluster', () => {
  test.each([[0], [101], [2.5]])('workers = %j is rejected', (workers) => {
    // GIVEN a worker count outside 1..100 WHEN validated THEN the range is named
    expectOneProblem({ cluster: { workers } }, 'cluster.workers', `${workers} is not accepted`, 'expected an integer from 1 to 100');
  });

  test('booleans must be JSON booleans', () => {
    // GIVEN "true" as a string WHEN validated THEN it is not coerced
    expectOneProblem({ cluster: { spot: 'true' } }, 'cluster.spot', '"true" is not accepted', 'expected true or false');
  });
});

describe('several problems', () => {
  test('every problem is reported at once, one line each, in the message', () => {
    // GIVEN a config with five problems in four sections
    const input = {
      name: 'Bad',
      access: { sshCidrs: ['10.0.0.1/8'] },
      machine: { diskGiB: 5, instanceType: 't3.metal' },
      python: { version: '3.11' },
    };
    // WHEN validated
    const error = configErrorOf(input);
    // THEN each problem is one line naming its field
    expect(error.problems.map((p) => p.split(':')[0]).sort()).toEqual(
      ['access.sshCidrs[0]', 'machine.diskGiB', 'machine.instanceType', 'name', 'python.version'],
    );
    // AND the message holds a heading with the count and every line
    expect(error.message.split('\n')[0]).toBe('Invalid dasklab config (5 problems):');
    for (const problem of error.problems) {
      expect(error.message).toContain(`\n  ${problem}`);
    }
  });

  test('a long bad value is shortened in the message', () => {
    // GIVEN a 200-character name WHEN validated THEN the value shown is cut to about 60 characters
    const line = expectOneProblem({ name: 'a'.repeat(200) }, 'name');
    expect(line).toMatch(/^name: "a{56}\.\.\. is not accepted; /);
  });
});

describe('loading files', () => {
  test('a valid file is loaded with defaults filled in', () => {
    // GIVEN a config file with a cluster WHEN loaded THEN it is validated and defaulted
    const file = scratchFile('ok.json', JSON.stringify({ name: 'lab', cluster: { workers: 4 } }));
    expect(loadConfig(file).cluster?.workers).toBe(4);
  });

  test('a missing file is an error naming the path', () => {
    // GIVEN a path with no file WHEN loaded THEN the error names it and how to choose another
    const file = path.join(scratch, 'nope.json');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*file not found[\\s\\S]*-c config=FILE`));
  });

  test('invalid JSON is an error naming the path, line and column', () => {
    // GIVEN a trailing comma on line 3 WHEN loaded THEN line 4 column 1 (where "}" is unexpected) is named
    const trailingComma = scratchFile('comma.json', '{\n  "name": "lab",\n  "machine": {},\n}\n');
    expect(() => loadConfig(trailingComma)).toThrow(/comma\.json:\n {2}invalid JSON at line 4, column 1: /);
    // AND an unexpected token, which V8 reports without a position, is placed too
    const bareWord = scratchFile('bare.json', '{\n  "name": lab\n}\n');
    expect(() => loadConfig(bareWord)).toThrow(/bare\.json:\n {2}invalid JSON at line 2, column 11: Unexpected token 'l'/);
    // AND an empty file is placed at its end
    expect(() => loadConfig(scratchFile('empty.json', ''))).toThrow(/invalid JSON at line 1, column 1: Unexpected end of JSON input/);
  });

  test.each([
    ['{"a": tru}', 'line 1, column 10', "Unexpected token '}'"],
    ['{"a": nul}', 'line 1, column 10', "Unexpected token '}'"],
    ['{"a": fals}', 'line 1, column 11', "Unexpected token '}'"],
    ['{"a": [1, 2,]}', 'line 1, column 13', "Unexpected token ']'"],
    ['{\n "a": [\n  1,\n  x]}', 'line 4, column 3', "Unexpected token 'x'"],
    ['{"a":\r\n x}', 'line 2, column 2', "Unexpected token 'x'"],
    ['\ufeff{"a": x}', 'line 1, column 7', "Unexpected token 'x'"],
    ['{"a": "\\u00e9", "b": q}', 'line 1, column 22', "Unexpected token 'q'"],
    ['{"a": {"b": [true, false, null, -1.5e+3, "\\n\\"", {}, []]}, "c": w}', 'line 1, column 65', "Unexpected token 'w'"],
    ['{ "a" : [ ] , "b" : { } , "c": x}', 'line 1, column 32', "Unexpected token 'x'"],
  ])('an unexpected token in %j is placed at %s (V8 gives no position; dasklab scans the JSON)', (text, where, what) => {
    // GIVEN JSON that V8 rejects without naming a position WHEN loaded THEN the first bad character is placed
    expect(() => loadConfig(scratchFile('token.json', text))).toThrow(`token.json:\n  invalid JSON at ${where}: ${what}`);
  });

  test('a long file\'s invalid JSON is placed without V8\'s excerpt of the text around it', () => {
    // GIVEN a long config whose error sits between a secret-looking value and more text
    const text = `{"name": "lab", "note": "TOKEN-${'s'.repeat(40)}", "machine": x, "after": "MORE-${'m'.repeat(40)}"}`;
    // WHEN loaded THEN the error names the token and the place, and no part of the text around it
    expect(() => loadConfig(scratchFile('long.json', text))).toThrow(/long\.json:\n {2}invalid JSON at line 1, column 86: Unexpected token 'x'$/);
  });

  test('a file that is not JSON is not echoed', () => {
    // GIVEN -c config= naming a file of password hashes
    const shadow = scratchFile('shadow', 'root:$y$j9T$SALTSALT$HASHHASH:19700:0:99999:7:::\n');
    // WHEN loaded THEN the position is named, and none of the content
    const error = (() => {
      try {
        loadConfig(shadow);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(error).toContain('invalid JSON at line 1, column 1');
    expect(error).not.toMatch(/SALT|HASH|root:/);
  });

  test.each([['/dev/zero'], ['/dev/urandom']])('%s is refused at once as not a regular file', (device) => {
    const started = Date.now();
    expect(() => loadConfig(device)).toThrow(`Cannot read dasklab config ${device}:\n  the path is not a regular file (a device, pipe or socket); pass a JSON file with -c config=FILE`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a config file of 1 MiB is read; one byte more is refused, under its path', () => {
    // GIVEN a valid config padded with spaces to exactly 1,048,576 bytes WHEN loaded THEN it is read
    const config = '{"name": "lab1"}';
    const limit = 1024 * 1024;
    expect(loadConfig(scratchFile('at-limit.json', config + ' '.repeat(limit - config.length))).name).toBe('lab1');
    // AND one byte more is refused before it is read, with this one problem
    const big = scratchFile('big.json', config + ' '.repeat(limit - config.length + 1));
    expect(() => loadConfig(big)).toThrow(new ConfigError(`Cannot read dasklab config ${big}`, ['the file is larger than 1 MiB; a dasklab config is a few hundred bytes']));
  });

  test('a directory is refused with what the system said, not as a missing file', () => {
    // GIVEN -c config= naming a directory WHEN loaded THEN the read error is given as it is
    const dir = fs.mkdtempSync(path.join(scratch, 'dir-'));
    expect(() => loadConfig(dir)).toThrow(`Cannot read dasklab config ${dir}:\n  the file cannot be read (EISDIR: illegal operation on a directory, read)`);
  });

  test('an invalid file lists its problems under its path', () => {
    // GIVEN a file with a bad field WHEN loaded THEN the heading names the file
    const file = scratchFile('bad.json', JSON.stringify({ machine: { diskGiB: 1 } }));
    expect(() => loadConfig(file)).toThrow(`Invalid dasklab config ${file} (1 problem):\n  machine.diskGiB: 1 is not accepted; expected an integer from 8 to 16384`);
  });

  test('a byte order mark at the start of the file is ignored', () => {
    // GIVEN a file saved with a UTF-8 BOM WHEN loaded THEN it parses
    expect(loadConfig(scratchFile('bom.json', '\ufeff{"name": "lab"}')).name).toBe('lab');
  });
});

describe('resolveConfigPath', () => {
  test('without -c config the default file at the repository root is used', () => {
    // GIVEN no context value WHEN resolved THEN it is <repo>/dasklab.config.json, whatever the cwd
    expect(resolveConfigPath(undefined, '/somewhere/else')).toBe(path.join(REPO_ROOT, 'dasklab.config.json'));
    expect(resolveConfigPath(null, '/somewhere/else')).toBe(path.join(REPO_ROOT, 'dasklab.config.json'));
  });

  test('-c config=FILE is resolved against the working directory', () => {
    // GIVEN relative and absolute values WHEN resolved THEN relative ones are under cwd
    expect(resolveConfigPath('configs/class.json', '/home/trainer/course')).toBe('/home/trainer/course/configs/class.json');
    expect(resolveConfigPath('/etc/dasklab.json', '/home/trainer/course')).toBe('/etc/dasklab.json');
  });

  test.each<[unknown, string]>([
    ['', '""'],
    ['  ', '"  "'],
    [3, '3'],
    [['a.json'], '["a.json"]'],
    [Symbol('config'), 'Symbol(config)'],
  ])('-c config=%p is refused: the whole problem, with the value as given', (value, shown) => {
    expect(() => resolveConfigPath(value, '/w')).toThrow(ConfigError);
    expect(() => resolveConfigPath(value, '/w')).toThrow(
      new ConfigError('Invalid -c config=FILE', [`config: ${shown} is not accepted; expected the path of a JSON config file, e.g. -c config=configs/class.json`]),
    );
  });
});

describe('JSON schema', () => {
  test('the committed dasklab.schema.json matches the zod schema', () => {
    // GIVEN the committed schema file WHEN compared with a fresh rendering THEN they are equal
    const committed = fs.readFileSync(path.join(REPO_ROOT, 'dasklab.schema.json'), 'utf8');
    const fresh = renderJsonSchema();
    if (committed !== fresh) {
      throw new Error('dasklab.schema.json is out of date with lib/config/schema.ts: run `npm run schema` and commit the result');
    }
  });

  test('fields with defaults are optional and every field is described', () => {
    // GIVEN the rendered schema
    const schema = JSON.parse(renderJsonSchema());
    // THEN nothing is required (every field has a default or is optional)
    expect(schema.required).toBeUndefined();
    expect(schema.properties.machine.required).toBeUndefined();
    // AND every property of every section has a description (editor tooltips)
    const undescribed: string[] = [];
    const walk = (node: { properties?: Record<string, { description?: string; properties?: unknown }> }, at: string) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        if (!child.description) undescribed.push(`${at}${key}`);
        walk(child as typeof node, `${at}${key}.`);
      }
    };
    walk(schema, '');
    expect(undescribed).toEqual([]);
    // AND unknown fields are refused there too
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('world-open access', () => {
  test.each([
    ['sshCidrs', '0.0.0.0/0', 'SSH (port 22)'],
    ['sshCidrs', '::/0', 'SSH (port 22)'],
    ['dashboardCidrs', '0.0.0.0/0', 'the Dask dashboard (port 8787)'],
  ])('%s with %s is rejected unless acknowledged', (field, cidr, opens) => {
    // GIVEN a world-open CIDR without acknowledgement
    // WHEN validated THEN the message names the field, the value, what it opens and how to acknowledge it
    const line = expectOneProblem({ access: { [field]: ['203.0.113.0/24', cidr] } }, `access.${field}`, cidr, `opens ${opens} to`, 'the whole internet');
    expect(line).toContain(`if that is intended, add "${field}" to access.allowWorldOpen`);
    expect(line).toContain('no more than a /8 of IPv4 (16,777,216 addresses) or a /32 of IPv6');
  });

  // What a list opens, taken together, decides: the union of its blocks, each address counted once.
  describe.each([
    ['sshCidrs', 'SSH (port 22)'],
    ['dashboardCidrs', 'the Dask dashboard (port 8787)'],
  ])('%s: the line is a /8 of IPv4 and a /32 of IPv6, over the whole list', (field, opens) => {
    test.each([
      ['two IPv4 halves', ['0.0.0.0/1', '128.0.0.0/1'], 'the whole internet'],
      ['two IPv6 halves', ['::/1', '8000::/1'], 'the whole internet'],
      ['IPv4 halves among narrow blocks', ['203.0.113.0/24', '0.0.0.0/1', '128.0.0.0/1'], 'the whole internet'],
      ['two adjacent /8s', ['11.0.0.0/8', '12.0.0.0/8'], '33,554,432 IPv4 addresses'],
      ['a /8 and one more address', ['10.0.0.0/8', '11.0.0.0/32'], '16,777,217 IPv4 addresses'],
      ['a /7', ['10.0.0.0/7'], '33,554,432 IPv4 addresses'],
      ['many /8s', Array.from({ length: 200 }, (_, i) => `${i + 1}.0.0.0/8`), '3,355,443,200 IPv4 addresses'],
      ['a /32 of IPv6 and one more address', ['2001:db8::/32', '2001:db9::/128'], 'more than 2^96 IPv6 addresses'],
      ['a /31 of IPv6', ['2001:db8::/31'], '2^97 IPv6 addresses'],
      ['two adjacent /8s listed high to low', ['12.0.0.0/8', '11.0.0.0/8'], '33,554,432 IPv4 addresses'],
      ['a /8, a /9 inside it and one more address', ['10.0.0.0/8', '10.0.0.0/9', '11.0.0.0/32'], '16,777,217 IPv4 addresses'],
    ])('%s: rejected', (_what, cidrs, extent) => {
      const line = expectOneProblem({ access: { [field]: cidrs } }, `access.${field}`, `opens ${opens} to ${extent}`, `add "${field}" to access.allowWorldOpen`);
      expect(line).toContain('no more than a /8 of IPv4');
    });

    test.each([
      ['exactly a /8', ['10.0.0.0/8']],
      ['a /8 in pieces, one listed inside another', ['10.0.0.0/9', '10.128.0.0/9', '10.0.0.0/16', '10.1.2.3/32']],
      ['a /9 and overlapping /10s (overlaps count once)', ['10.0.0.0/9', '10.0.0.0/10', '10.64.0.0/10']],
      ['a /9 listed before the /8 that starts with it', ['10.0.0.0/9', '10.0.0.0/8']],
      ['exactly a /32 of IPv6', ['2001:db8::/32']],
      ['a /32 of IPv6 in halves, and a /8 of IPv4 (each family has its own line)', ['2001:db8::/33', '2001:db8:8000::/33', '10.0.0.0/8']],
    ])('%s: accepted', (_what, cidrs) => {
      expect(validateConfig({ access: { [field]: cidrs } }).access[field as 'sshCidrs']).toEqual(cidrs);
    });

    test('above the line and acknowledged: accepted', () => {
      const config = validateConfig({ access: { [field]: ['0.0.0.0/1', '128.0.0.0/1'], allowWorldOpen: [field] } });
      expect(config.access[field as 'sshCidrs']).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
    });
  });

  test('the other list does not add to this one', () => {
    // GIVEN a /8 in each list: neither list is above the line
    const config = validateConfig({ access: { sshCidrs: ['10.0.0.0/8'], dashboardCidrs: ['11.0.0.0/8'] } });
    expect(config.access.dashboardCidrs).toEqual(['11.0.0.0/8']);
  });

  test('acknowledged, it is accepted', () => {
    const config = validateConfig({ access: { sshCidrs: ['0.0.0.0/0'], allowWorldOpen: ['sshCidrs'] } });
    expect(config.access.sshCidrs).toEqual(['0.0.0.0/0']);
  });

  test('acknowledging one list does not open the other', () => {
    expect(() =>
      validateConfig({ access: { dashboardCidrs: ['0.0.0.0/0'], allowWorldOpen: ['sshCidrs'] } }),
    ).toThrow(/access\.dashboardCidrs: /);
  });

  test('an unknown acknowledgement is rejected', () => {
    expect(() => validateConfig({ access: { allowWorldOpen: ['ssh'] } })).toThrow(
      'access.allowWorldOpen[0]: "ssh" is not accepted; expected "sshCidrs" or "dashboardCidrs"',
    );
  });
});
