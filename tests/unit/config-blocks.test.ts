/**
 * The config schema's building blocks (lib/config/schema-blocks.ts) and the
 * messages the schema gives for values of the wrong type, each exactly: what
 * a user reads when a field is wrong. Direct and fast, for mutation testing.
 */
import { configErrorOf, expectOneProblem } from './config-errors';
import { PRIVATE_NETWORK, PUBLIC_NETWORK, ROUTED_NETWORK } from './network-fixtures';
import { ConfigSchema, validateConfig } from '../../lib/config';
import { defineUnreadGetter, writtenPathProblem } from '../../lib/config/schema-blocks';

describe('writtenPathProblem', () => {
  const EXPECTED = 'expected the path of a folder';

  test.each([
    ['', 'the path is empty'],
    ['   ', 'the path is empty'],
    [' course', 'the path starts or ends with a space or line break'],
    ['course ', 'the path starts or ends with a space or line break'],
    ['course\n', 'the path starts or ends with a space or line break'],
    ['cour\u0000se', 'the path contains a control character'],
    ['cour\u001fse', 'the path contains a control character'],
    ['cour\u007fse', 'the path contains a control character'],
  ])('%j is refused: %s, after what is expected', (p, reason) => {
    expect(writtenPathProblem(EXPECTED, p, 100)).toBe(`${EXPECTED}; ${reason}`);
  });

  test('a path of exactly the longest length is accepted, one character more is refused, naming the length', () => {
    expect(writtenPathProblem(EXPECTED, 'a'.repeat(10), 10)).toBeNull();
    expect(writtenPathProblem(EXPECTED, 'a'.repeat(11), 10)).toBe(`${EXPECTED}; the path is longer than 10 characters`);
  });

  test.each(['course', 'materials/week 1', './a', '../b/c', 'x\u00a0y', 'é'])('%j is accepted', (p) => {
    expect(writtenPathProblem(EXPECTED, p, 100)).toBeNull();
  });
});

describe('defineUnreadGetter', () => {
  test('reading the property throws the message; a spread copy, as the loader makes, leaves it out', () => {
    // GIVEN an object with an unread getter
    const lab: Record<string, unknown> = { roster: 'students.csv' };
    defineUnreadGetter(lab, 'students', 'lab.students: not read');
    // THEN reading it throws the message
    expect(() => lab.students).toThrow('lab.students: not read');
    // AND a copy made with spread (lib/config/load.ts) has no such property, so the loader can set what it read
    expect({ ...lab }).toEqual({ roster: 'students.csv' });
    expect(Object.keys(lab)).toEqual(['roster']);
  });
});

describe('messages for values of the wrong type', () => {
  test.each([
    ['sshCidrs', 'who may reach SSH port 22'],
    ['dashboardCidrs', 'who may reach the Dask dashboard, port 8787'],
  ])('access.%s that is not a list says what a list of CIDRs is for', (field, purpose) => {
    expect(expectOneProblem({ access: { [field]: '203.0.113.0/24' } }, `access.${field}`)).toBe(
      `access.${field}: "203.0.113.0/24" is not accepted; expected a list of CIDR strings (${purpose})`,
    );
  });

  test('an entry of access.sshCidrs that is not a string gives an example of a CIDR', () => {
    expect(expectOneProblem({ access: { sshCidrs: [24] } }, 'access.sshCidrs[0]')).toBe(
      'access.sshCidrs[0]: 24 is not accepted; expected a CIDR string such as "203.0.113.0/24"',
    );
  });

  test('python.packages that is not a list, or an empty one, says what a package list is', () => {
    const message = 'expected a list of 1 to 100 pip requirements, e.g. ["numpy", "dask[complete]"]';
    expect(expectOneProblem({ python: { packages: 'numpy' } }, 'python.packages')).toBe(`python.packages: "numpy" is not accepted; ${message}`);
    expect(expectOneProblem({ python: { packages: [] } }, 'python.packages')).toBe(`python.packages: [] is not accepted; ${message}`);
    expect(expectOneProblem({ python: { packages: [7] } }, 'python.packages[0]')).toBe(
      'python.packages[0]: 7 is not accepted; expected a pip requirement string such as "numpy" or "dask[complete]>=2024.1"',
    );
  });

  test('access.publicKey and $schema that are not strings say what is expected', () => {
    expect(expectOneProblem({ access: { publicKey: 5 } }, 'access.publicKey')).toBe(
      'access.publicKey: 5 is not accepted; expected an OpenSSH public key line ("ssh-ed25519 AAAA... comment") or null',
    );
    expect(expectOneProblem({ $schema: 5 }, '$schema')).toBe('$schema: 5 is not accepted; expected a string: the path or URL of the JSON schema, for editors');
  });

  test('a list opening more than the line in both IP versions names both counts', () => {
    const world = 'expected CIDRs that together cover no more than a /8 of IPv4 (16,777,216 addresses) or a /32 of IPv6';
    expect(expectOneProblem({ access: { sshCidrs: ['10.0.0.0/7', '2000::/31'] } }, 'access.sshCidrs')).toBe(
      `access.sshCidrs: ["10.0.0.0/7","2000::/31"] is not accepted; ${world}: this list opens SSH (port 22) to 33,554,432 IPv4 addresses and 2^97 IPv6 addresses; ` +
        'if that is intended, add "sshCidrs" to access.allowWorldOpen',
    );
    // Three /31s of IPv6 are 1.5 × 2^98 addresses: not a power of two, so "more than".
    expect(expectOneProblem({ access: { dashboardCidrs: ['2000::/31', '2400::/31', '2600::/31'] } }, 'access.dashboardCidrs')).toBe(
      `access.dashboardCidrs: ["2000::/31","2400::/31","2600::/31"] is not accepted; ${world}: this list opens the Dask dashboard (port 8787) to more than 2^98 IPv6 addresses; ` +
        'if that is intended, add "dashboardCidrs" to access.allowWorldOpen',
    );
  });

  test('a section that is not an object lists its fields', () => {
    expect(expectOneProblem({ access: [] }, 'access', 'expected the access settings: an object with the fields ')).toMatch(/sshCidrs, .*dashboardCidrs/);
  });

  test('a boolean written as a string is refused, saying to leave out the quotes', () => {
    expect(expectOneProblem({ cluster: { workers: 2, jupyter: 'true' } }, 'cluster.jupyter')).toBe(
      'cluster.jupyter: "true" is not accepted; expected true or false (without quotes)',
    );
  });

  test('a number out of range or not whole names the range, and why where there is a reason', () => {
    expect(expectOneProblem({ machine: { readyTimeoutMinutes: 721 } }, 'machine.readyTimeoutMinutes')).toBe(
      'machine.readyTimeoutMinutes: 721 is not accepted; expected an integer from 5 to 720 (CloudFormation waits at most 12 hours)',
    );
    expect(expectOneProblem({ machine: { readyTimeoutMinutes: '30' } }, 'machine.readyTimeoutMinutes')).toBe(
      'machine.readyTimeoutMinutes: "30" is not accepted; expected an integer from 5 to 720 (CloudFormation waits at most 12 hours)',
    );
  });
});

describe('lengths at their limit', () => {
  /** An https index URL of exactly `length` characters. */
  const indexUrlOf = (length: number) => {
    const head = 'https://pypi.example/';
    const tail = '/simple/';
    return `${head}${'a'.repeat(length - head.length - tail.length)}${tail}`;
  };

  test('python.indexUrl: 2048 characters are accepted, 2049 refused, naming the length', () => {
    expect(indexUrlOf(2048)).toHaveLength(2048);
    expect(validateConfig({ python: { indexUrl: indexUrlOf(2048) } }).python.indexUrl).toBe(indexUrlOf(2048));
    expect(expectOneProblem({ python: { indexUrl: indexUrlOf(2049) } }, 'python.indexUrl')).toMatch(
      /^python\.indexUrl: "https:\/\/pypi\.example\/a+\.\.\. is not accepted; expected the https URL of a PEP 503 simple index, e\.g\. "https:\/\/pypi\.example\.org\/simple\/", or null for PyPI; it is longer than 2048 characters$/,
    );
  });
});

describe('python.venv, each refusal exactly', () => {
  const EXPECTED = 'expected an absolute path of letters, digits, ".", "_", "-" and "/", e.g. "/opt/dask/venv"';

  test.each([
    ['opt/dask/venv', EXPECTED],
    ['dask/opt/venv', EXPECTED],
    ['/opt/dask venv', EXPECTED],
    [`/opt/${'v'.repeat(124)}`, `${EXPECTED}, at most 128 characters`],
    ['/opt//venv', `${EXPECTED}, written plainly: no "..", ".", "//" or trailing "/"`],
    ['/opt/venv/', `${EXPECTED}, written plainly: no "..", ".", "//" or trailing "/"`],
    ['/opt/./venv', `${EXPECTED}, written plainly: no "..", ".", "//" or trailing "/"`],
    ['/opt/-venv', `${EXPECTED}; no path component may start with "-" (it would read as a command option)`],
    ['/usr/venv', `${EXPECTED}, under /opt/ or /srv/ (a directory of its own, which the bootstrap may replace; never a system or home directory)`],
    ['/opt', `${EXPECTED}: a directory of its own under /opt/ or /srv/, not /opt itself`],
  ])('%j: %s', (venv, message) => {
    expect(expectOneProblem({ python: { venv } }, 'python.venv')).toBe(`python.venv: ${JSON.stringify(venv).slice(0, 60).replace(/^(.{57}).+$/, '$1...')} is not accepted; ${message}`);
  });

  test('a venv path of exactly 128 characters is accepted', () => {
    const venv = `/opt/${'v'.repeat(123)}`;
    expect(venv).toHaveLength(128);
    expect(validateConfig({ python: { venv } }).python.venv).toBe(venv);
  });
});

describe('python.indexUrl: what is shown of a refused URL', () => {
  test('a URL that does not parse is shown, with what is expected', () => {
    expect(expectOneProblem({ python: { indexUrl: 'pypi.example/simple/' } }, 'python.indexUrl')).toBe(
      'python.indexUrl: "pypi.example/simple/" is not accepted; expected the https URL of a PEP 503 simple index, e.g. "https://pypi.example.org/simple/", or null for PyPI',
    );
  });

  test('a plain-http URL is shown when nothing in it may be a credential', () => {
    expect(expectOneProblem({ python: { indexUrl: 'http://pypi.example/simple/' } }, 'python.indexUrl')).toBe(
      'python.indexUrl: "http://pypi.example/simple/" is not accepted; expected the https URL of a PEP 503 simple index, e.g. "https://pypi.example.org/simple/", or null for PyPI; not plain http (packages would travel unauthenticated)',
    );
  });

  test('a refused URL with a fragment is not shown: an index URL takes no fragment, so it may be a secret', () => {
    expect(expectOneProblem({ python: { indexUrl: `http://pypi.example/simple/#sha256=${'a'.repeat(64)}` } }, 'python.indexUrl')).toMatch(
      /^python\.indexUrl: the value \(not shown\) is not accepted; .*; not plain http/,
    );
  });

  test('a URL holding a password is refused without showing it', () => {
    const line = expectOneProblem({ python: { indexUrl: 'https://user:s3cret@pypi.example/simple/' } }, 'python.indexUrl');
    expect(line).toMatch(/^python\.indexUrl: the value \(not shown\) is not accepted; /);
    expect(line).not.toContain('s3cret');
  });
});

describe('what provides dask.distributed for a cluster', () => {
  test.each([['dask[complete]'], ['dask[distributed]'], ['Dask[Complete]>=2024.1'], ['distributed'], ['dask[dataframe,distributed]']])('%s does', (spec) => {
    expect(validateConfig({ python: { packages: ['numpy', spec] }, cluster: { workers: 1 } }).python.packages).toContain(spec);
  });

  test.each([['dask'], ['dask[dataframe]'], ['pandas[complete]'], ['pandas[distributed]'], ['distributed-extras']])('%s does not', (spec) => {
    expectOneProblem({ python: { packages: ['numpy', spec] }, cluster: { workers: 1 } }, 'python.packages', 'expected the packages to include "dask[complete]", "dask[distributed]" or "distributed" when cluster is set');
  });
});

describe('the cross-field checks, with the fields they read broken', () => {
  // They run whenever the config is an object, so that every problem is reported at once: each broken field
  // must give its own problem, not a crash of the check that reads it.
  test.each<[object, string, string]>([
    [{ machine: null }, 'machine', 'machine: null is not accepted; expected the machine settings: an object with the fields '],
    [{ access: null }, 'access', 'access: null is not accepted; expected the access settings: an object with the fields '],
    [{ python: null }, 'python', 'python: null is not accepted; expected the Python settings: an object with the fields '],
    [{ machine: { ubuntu: '99.04' } }, 'machine.ubuntu', 'machine.ubuntu: "99.04" is not accepted; expected one of the supported Ubuntu releases: "24.04"'],
    [{ machine: { ubuntu: 24.04 } }, 'machine.ubuntu', 'machine.ubuntu: 24.04 is not accepted; '],
    [{ python: { version: 3.12 } }, 'python.version', 'python.version: 3.12 is not accepted; '],
  ])('%j: one problem, at %s', (config, field, start) => {
    expect(expectOneProblem(config, field).startsWith(start)).toBe(true);
  });

  test('an allowWorldOpen that is not a list allows nothing: the world-open list is still refused, with both problems named', () => {
    const { problems } = configErrorOf({ access: { allowWorldOpen: 'sshCidrs', sshCidrs: ['0.0.0.0/0'] } });
    expect(problems.map((line) => line.split(':')[0])).toEqual(['access.allowWorldOpen', 'access.sshCidrs']);
    expect(problems[1]).toContain('this list opens SSH (port 22) to the whole internet');
  });

  test('a Python version the Ubuntu release does not offer is refused, naming those it does', () => {
    expect(expectOneProblem({ python: { version: '3.13' } }, 'python.version')).toBe(
      'python.version: "3.13" is not accepted; expected a Python version that Ubuntu 24.04 offers: "3.12"',
    );
  });
});

describe('a config that is not a JSON object', () => {
  test.each([[null, 'null'], [[], '[]'], ['x', '"x"'], [7, '7']])('%j gives one problem at the top level, and the cross-field checks do not run on it', (input, shown) => {
    expect(configErrorOf(input).problems).toEqual([
      `(top level): ${shown} is not accepted; expected a JSON object with the fields $schema, name, access, machine, python, cluster, lab, network`,
    ]);
  });
});

describe('python.lock before the loader has read python.lockFile', () => {
  test('reading it throws, saying which file and what reads it; without a lock file it is undefined', () => {
    const python = ConfigSchema.parse({ python: { lockFile: 'requirements.lock' } }).python;
    expect(() => python.lock).toThrow(
      new Error(
        'python.lock: the lock file "requirements.lock" has not been read; ConfigSchema does not read files. ' +
          'Use loadConfig(file), or validateConfig(data, source, configDir), which read it relative to the config\'s directory.',
      ),
    );
    expect(ConfigSchema.parse({ python: { lockFile: null } }).python.lock).toBeUndefined();
  });
});

describe('machine.bake and the network', () => {
  test('baking where every subnet is public is refused; the same network without baking, or baking with a private subnet, is accepted', () => {
    expectOneProblem({ machine: { bake: true }, network: PUBLIC_NETWORK }, 'machine.bake', 'expected false when every subnet of network.subnets is public');
    expect(validateConfig({ network: PUBLIC_NETWORK }).machine.bake).toBe(false);
    expect(validateConfig({ machine: { bake: true }, network: PRIVATE_NETWORK }).machine.bake).toBe(true);
  });
});

describe('the cross-field refusals, each exactly, and the configs beside them that are accepted', () => {
  const PROXY = 'http://proxy.corp.example:3128';
  const CODE_ARTIFACT = { domain: 'my-domain', repository: 'pypi-store' };
  const NO_DISTRIBUTED = ['numpy', 'dask[array]'];

  test('machine.bake in a network whose every subnet is public', () => {
    expect(expectOneProblem({ machine: { bake: true }, network: PUBLIC_NETWORK }, 'machine.bake')).toBe(
      'machine.bake: true is not accepted; expected false when every subnet of network.subnets is public: Image Builder gives the build ' +
        'instance no public IP of its own, so the image is built in a private subnet that reaches the internet through a NAT gateway; ' +
        'add one to network.subnets',
    );
  });

  test('machine.bake behind a proxy; without the proxy, or without baking, it is accepted', () => {
    expect(expectOneProblem({ machine: { bake: true }, network: { ...PRIVATE_NETWORK, proxy: PROXY } }, 'machine.bake')).toBe(
      'machine.bake: true is not accepted; expected false when network.proxy is set: the image is built in the network\'s first subnet, ' +
        'which must reach the Ubuntu archive, the package index and Systems Manager without a proxy (through a NAT gateway, ' +
        'or an internet gateway with public IPs on launch)',
    );
    expect(validateConfig({ machine: { bake: false }, network: { ...PRIVATE_NETWORK, proxy: PROXY } }).network?.proxy).toBe(PROXY);
    expect(validateConfig({ machine: { bake: true }, network: { ...PRIVATE_NETWORK, proxy: null } }).machine.bake).toBe(true);
  });

  test('network.schedulerAddress without a cluster; with one, or null, it is accepted', () => {
    const network = { ...PRIVATE_NETWORK, schedulerAddress: '10.20.1.10' };
    expect(expectOneProblem({ network }, 'network.schedulerAddress')).toBe(
      'network.schedulerAddress: "10.20.1.10" is not accepted; expected null unless cluster is set (only a cluster\'s scheduler has a fixed address)',
    );
    expect(validateConfig({ network, cluster: { workers: 2 } }).network?.schedulerAddress).toBe('10.20.1.10');
    expect(validateConfig({ network: { ...PRIVATE_NETWORK, schedulerAddress: null } }).cluster).toBeUndefined();
  });

  test('a CodeArtifact region other than the VPC\'s, with endpoints created; the same region, or endpoints not created, is accepted', () => {
    const network = { ...ROUTED_NETWORK, endpoints: 'create' };
    expect(expectOneProblem({ network, python: { codeArtifact: { ...CODE_ARTIFACT, region: 'us-east-1' } } }, 'python.codeArtifact.region')).toBe(
      'python.codeArtifact.region: "us-east-1" is not accepted; expected the VPC\'s region, eu-central-1, or null, with network.endpoints "create": ' +
        'a VPC endpoint serves requests to its own region only (https://docs.aws.amazon.com/codeartifact/latest/ug/vpc-endpoints.html)',
    );
    expect(validateConfig({ network, python: { codeArtifact: { ...CODE_ARTIFACT, region: 'eu-central-1' } } }).python.codeArtifact?.region).toBe('eu-central-1');
    expect(validateConfig({ network: ROUTED_NETWORK, python: { codeArtifact: { ...CODE_ARTIFACT, region: 'us-east-1' } } }).python.codeArtifact?.region).toBe('us-east-1');
    // AND with no region of its own (null: the VPC's), endpoints created, it is accepted
    expect(validateConfig({ network, python: { codeArtifact: CODE_ARTIFACT } }).python.codeArtifact?.region).toBeNull();
  });

  test('the CodeArtifact region check reads the first subnet\'s zone only when there is a subnet: an empty list gives its own problem alone', () => {
    const { problems } = configErrorOf({
      network: { vpcId: PRIVATE_NETWORK.vpcId, subnets: [], endpoints: 'create' },
      python: { codeArtifact: { ...CODE_ARTIFACT, region: 'us-east-1' } },
    });
    expect(problems).toEqual(['network.subnets: [] is not accepted; expected a list of 1 to 16 subnets, each { "id", "zone", "cidr" }']);
  });

  test('python.indexUrl and python.codeArtifact together; either alone is accepted', () => {
    const indexUrl = 'https://pypi.example.com/simple/';
    expect(expectOneProblem({ python: { indexUrl, codeArtifact: CODE_ARTIFACT } }, 'python.codeArtifact')).toBe(
      'python.codeArtifact: {"domain":"my-domain","repository":"pypi-store"} is not accepted; expected either python.indexUrl or python.codeArtifact, not both (pip reads one index)',
    );
    expect(validateConfig({ python: { indexUrl } }).python.indexUrl).toBe(indexUrl);
    expect(validateConfig({ python: { codeArtifact: CODE_ARTIFACT } }).python.codeArtifact?.domain).toBe('my-domain');
  });

  test('a cluster without dask.distributed in the packages; each package that provides it is accepted', () => {
    expect(expectOneProblem({ cluster: { workers: 2 }, python: { packages: NO_DISTRIBUTED } }, 'python.packages')).toBe(
      'python.packages: ["numpy","dask[array]"] is not accepted; expected the packages to include "dask[complete]", "dask[distributed]" or "distributed" ' +
        'when cluster is set (the scheduler and workers run dask.distributed)',
    );
    for (const provider of ['dask[complete]', 'dask[distributed]', 'distributed']) {
      expect(validateConfig({ cluster: { workers: 2 }, python: { packages: ['numpy', provider] } }).python.packages).toEqual(['numpy', provider]);
    }
    // Without a cluster, the same packages are accepted.
    expect(validateConfig({ python: { packages: NO_DISTRIBUTED } }).python.packages).toEqual(NO_DISTRIBUTED);
  });

  test('a package list that is itself wrong gives only its own problem, not also the missing dask.distributed', () => {
    const { problems } = configErrorOf({ cluster: { workers: 2 }, python: { packages: ['numpy', 'dask[array'] } });
    expect(problems.map((line) => line.split(':')[0])).toEqual(['python.packages[1]']);
    // AND a list with an entry that is not a string, or no list at all
    for (const packages of [['numpy', 7], 'numpy']) {
      const wrong = configErrorOf({ cluster: { workers: 2 }, python: { packages } }).problems;
      expect(wrong.map((line) => line.split(':')[0])).toEqual([Array.isArray(packages) ? 'python.packages[1]' : 'python.packages']);
    }
  });

  test('a cluster or lab of null is refused for its type alone: not taken for a cluster that needs dask.distributed or excludes a lab', () => {
    const refusal = 'cluster: null is not accepted; expected the cluster settings: an object with the fields workers, schedulerInstanceType, workerInstanceType, spot, tls, jupyter';
    expect(configErrorOf({ cluster: null, python: { packages: NO_DISTRIBUTED } }).problems).toEqual([refusal]);
    expect(configErrorOf({ cluster: null, lab: { roster: ['alice'] } }).problems).toEqual([refusal]);
    // AND a lab of null likewise
    expect(configErrorOf({ lab: null, python: { packages: NO_DISTRIBUTED } }).problems).toEqual([
      'lab: null is not accepted; expected the lab settings: an object with the fields roster, workersPerStudent, idleStopMinutes, trainerPublicKey, schedule, jupyter, materials, instanceType',
    ]);
  });

  test('a cluster and a lab together', () => {
    const { problems } = configErrorOf({ cluster: { workers: 2 }, lab: { roster: ['alice', 'bob'] } });
    expect(problems).toEqual([
      'cluster: {"workers":2} is not accepted; expected either cluster (one shared Dask cluster) or lab (machines per student), not both; ' +
        'for a Dask cluster per student use lab.workersPerStudent',
    ]);
  });

  test('a lab with workers per student without dask.distributed; with no workers per student it is accepted', () => {
    expect(expectOneProblem({ lab: { roster: ['alice', 'bob'], workersPerStudent: 1 }, python: { packages: NO_DISTRIBUTED } }, 'python.packages')).toBe(
      'python.packages: ["numpy","dask[array]"] is not accepted; expected the packages to include "dask[complete]", "dask[distributed]" or "distributed" ' +
        'when lab.workersPerStudent is above 0 (each student\'s scheduler and workers run dask.distributed)',
    );
    expect(validateConfig({ lab: { roster: ['alice', 'bob'], workersPerStudent: 0 }, python: { packages: NO_DISTRIBUTED } }).lab?.workersPerStudent).toBe(0);
    expect(validateConfig({ lab: { roster: ['alice', 'bob'] }, python: { packages: NO_DISTRIBUTED } }).lab?.students).toHaveLength(2);
  });
});
