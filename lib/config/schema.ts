/**
 * The dasklab config schema: the one definition of what `dasklab.config.json`
 * may contain, its defaults, and the text of every rejection.
 *
 * Conventions, so that the formatter in `errors.ts` can print
 * "<field>: <value> is not accepted; <message>" for every problem:
 * - every schema and check carries its own `error` message, phrased as what is
 *   accepted ("expected ..."), so zod's generic messages never reach the user;
 * - objects are strict: an unknown field is an error (usually a typo), never
 *   silently ignored;
 * - nothing is coerced: "30" is not 30, "True" is not true, names are not
 *   lower-cased, spaces are not trimmed;
 * - sections with defaults use `prefault({})` so that an absent section is
 *   parsed as `{}` and gets each field's default (zod 4's `default()` would
 *   return the default object as-is, without the inner defaults).
 */
import { z } from 'zod';
import { addressesCovered, cidrProblem, parseCidr } from './cidr';
import { bool, checkedString, defineUnreadGetter, intRange, section } from './schema-blocks';
import { instanceTypeProblem } from './instance-types';
import { lockFilePathProblem, PythonLockFile } from './lock-file';
import { completeLab, LabSchema } from './lab-schema';
import { NetworkSchema, regionOfZone } from './network-schema';
import { normalizeProjectName, parseRequirement, requirementHoldsCredential, requirementProblem } from './requirement';
import { looksLikePrivateKey, publicKeyProblem } from './ssh-public-key';
import { urlCredentialProblem } from './url-credentials';

/**
 * Ubuntu releases dasklab supports, with the facts the rest of the app needs:
 * the codename (apt sources, AMI names) and the Python versions its own archive
 * offers (dasklab installs Python from apt, not from a PPA or source build).
 */
export const UBUNTU_RELEASES = {
  '24.04': { codename: 'noble', pythonVersions: ['3.12'] },
} as const satisfies Record<string, { codename: string; pythonVersions: readonly string[] }>;

/** A supported Ubuntu release, e.g. `"24.04"`. */
export type UbuntuRelease = keyof typeof UBUNTU_RELEASES;

/** The supported Ubuntu releases, in the order of {@link UBUNTU_RELEASES}. */
export const UBUNTU_RELEASE_NAMES = Object.keys(UBUNTU_RELEASES) as [UbuntuRelease, ...UbuntuRelease[]];

/** Default packages installed into the venv: what a dasklab machine promises. */
export const DEFAULT_PACKAGES: readonly string[] = ['numpy', 'dask[complete]'];

/**
 * Directories under which the venv may live: the two the Filesystem Hierarchy
 * Standard gives to add-on software and site data, where nothing of the system
 * or of a user lives. The venv phase replaces an unhealthy venv, so the path
 * must be a directory of its own: never a system or home directory, nor
 * /var/lib/dasklab.
 */
export const VENV_ROOTS: readonly string[] = ['/opt', '/srv'];

/** `name`: 2..24 chars, lower case, digits, single hyphens; starts with a letter. */
export const NAME_PATTERN = /^(?!.*--)[a-z][a-z0-9-]{0,22}[a-z0-9]$/;

/** What `name` (and the CLI's --app) accepts, in words. */
export const NAME_RULE = 'expected 2 to 24 characters: lower-case letters, digits and single hyphens, starting with a letter and ending with a letter or digit';

/** `python.version`: "3.N". */
const PYTHON_VERSION_PATTERN = /^3\.(0|[1-9][0-9]*)$/;

/** A hint for editors only (the real check is `instanceTypeProblem`). */
const INSTANCE_TYPE_HINT = { pattern: '^[a-z][a-z0-9-]*\\.[a-z0-9-]+$' };

/** Longest venv path: keeps the venv scripts' "#!<venv>/bin/python" lines short. */
const MAX_VENV_LENGTH = 128;

// ---------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------

/** A list of CIDR blocks with no block listed twice (compared in canonical form). */
function cidrList(purpose: string) {
  const element = checkedString('expected a CIDR string such as "203.0.113.0/24"', cidrProblem);
  return z
    .array(element, { error: `expected a list of CIDR strings (${purpose})` })
    .superRefine((cidrs, ctx) => {
      const seen = new Map<string, number>();
      cidrs.forEach((cidr, i) => {
        if (cidrProblem(cidr) !== null) return; // reported by the element check
        const key = parseCidr(cidr).canonical;
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, i);
        } else {
          ctx.addIssue({ code: 'custom', path: [i], input: cidr, message: `expected each CIDR once; this one repeats entry [${first}]` });
        }
      });
    });
}

// ---------------------------------------------------------------------------
// Field checks that are not a single pattern
// ---------------------------------------------------------------------------

/** Why `url` is not a usable package index URL, or null. */
function indexUrlProblem(url: string): string | null {
  const expected = 'expected the https URL of a PEP 503 simple index, e.g. "https://pypi.example.org/simple/", or null for PyPI';
  if (/[\s'"`$\\<>{}|^]/.test(url)) {
    return `${expected}; it contains a space, quote or shell character`;
  }
  if (url.length > 2048) {
    return `${expected}; it is longer than 2048 characters`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return expected;
  }
  if (parsed.protocol === 'http:') {
    // pip refuses a plain-http index unless told to trust the host, and code
    // fetched over plain http could be anyone's.
    return `${expected}; not plain http (packages would travel unauthenticated)`;
  }
  if (parsed.protocol !== 'https:') {
    return `${expected}; "${parsed.protocol}" URLs are not supported`;
  }
  const credential = urlCredentialProblem(parsed, { hashFragment: false });
  return credential === null ? null : `${expected}, ${credential}`;
}

/** True if the error output must not echo `url`: it may hold a credential. */
function indexUrlHoldsCredential(url: string): boolean {
  return URL.canParse(url) && urlCredentialProblem(new URL(url), { hashFragment: false }) !== null;
}

/** Why `venv` is not a safe location for the virtual environment, or null. */
function venvProblem(venv: string): string | null {
  const expected = 'expected an absolute path of letters, digits, ".", "_", "-" and "/", e.g. "/opt/dask/venv"';
  if (!/^\/[A-Za-z0-9._/-]+$/.test(venv)) {
    return expected;
  }
  if (venv.length > MAX_VENV_LENGTH) {
    return `${expected}, at most ${MAX_VENV_LENGTH} characters`;
  }
  const segments = venv.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    return `${expected}, written plainly: no "..", ".", "//" or trailing "/"`;
  }
  if (segments.some((s) => s.startsWith('-'))) {
    return `${expected}; no path component may start with "-" (it would read as a command option)`;
  }
  const roots = VENV_ROOTS.map((r) => `${r}/`).join(' or ');
  if (!VENV_ROOTS.some((r) => venv === r || venv.startsWith(`${r}/`))) {
    return `${expected}, under ${roots} (a directory of its own, which the bootstrap may replace; never a system or home directory)`;
  }
  if (segments.length < 2) {
    return `${expected}: a directory of its own under ${roots}, not ${venv} itself`;
  }
  return null;
}

/** Requirement list: each a valid requirement, no project named twice. */
function packageList() {
  const element = checkedString('expected a pip requirement string such as "numpy" or "dask[complete]>=2024.1"', requirementProblem, requirementHoldsCredential);
  const error = 'expected a list of 1 to 100 pip requirements, e.g. ["numpy", "dask[complete]"]';
  return z
    .array(element, { error })
    .min(1, { error })
    .max(100, { error })
    .superRefine((specs, ctx) => {
      const seen = new Map<string, number>();
      specs.forEach((spec, i) => {
        if (requirementProblem(spec) !== null) return; // reported by the element check
        const project = normalizeProjectName(parseRequirement(spec).name);
        const first = seen.get(project);
        if (first === undefined) {
          seen.set(project, i);
        } else {
          ctx.addIssue({
            code: 'custom',
            path: [i],
            input: spec,
            message: `expected each project once; "${project}" is already entry [${first}] (combine extras and versions in one entry)`,
          });
        }
      });
    });
}

/**
 * True if the packages provide dask.distributed, which the cluster's
 * `dask-scheduler`/`dask-worker` services run.
 */
function providesDistributed(specs: readonly string[]): boolean {
  return specs.some((spec) => {
    if (requirementProblem(spec) !== null) return false;
    const req = parseRequirement(spec);
    const name = normalizeProjectName(req.name);
    const extras = req.extras.map(normalizeProjectName);
    return name === 'distributed' || (name === 'dask' && (extras.includes('complete') || extras.includes('distributed')));
  });
}

// ---------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------

/** The access lists that may, when acknowledged, hold a world-open CIDR. */
export const WORLD_OPENABLE = ['sshCidrs', 'dashboardCidrs'] as const;

/** What each access list opens, for messages. */
const OPENS: Record<(typeof WORLD_OPENABLE)[number], string> = { sshCidrs: 'SSH (port 22)', dashboardCidrs: 'the Dask dashboard (port 8787)' };

/**
 * The most addresses an access list may open without `access.allowWorldOpen`:
 * a /8 of IPv4 and a /32 of IPv6, counted over the whole list (the union of
 * its blocks), so that halves or many /8s cannot open the world piecemeal.
 * A /8 is the largest block ever assigned to one organisation (the legacy
 * class A networks) and the whole private range 10.0.0.0/8 of a VPN; a /32 is
 * the minimum IPv6 allocation to a whole provider (LIR). Anything wider is the
 * internet at large, not someone's network.
 */
export const WORLD_OPEN_LINE = { ipv4: { prefix: 8, addresses: 1n << 24n }, ipv6: { prefix: 32, addresses: 1n << 96n } } as const;

/** The line, in words, for messages. */
export const WORLD_OPEN_LINE_TEXT = `a /${WORLD_OPEN_LINE.ipv4.prefix} of IPv4 (${(WORLD_OPEN_LINE.ipv4.addresses).toLocaleString('en-US')} addresses) or a /${WORLD_OPEN_LINE.ipv6.prefix} of IPv6`;

/**
 * What a list of CIDRs opens, in words, if together they cover more than
 * {@link WORLD_OPEN_LINE} in either IP version ("the whole internet",
 * "33,554,432 IPv4 addresses"); null if they stay within it. Invalid entries
 * are left to their own check.
 */
export function worldOpenExtent(cidrs: readonly unknown[]): string | null {
  const parsed = cidrs.filter((c): c is string => typeof c === 'string' && cidrProblem(c) === null).map(parseCidr);
  const ipv4 = addressesCovered(parsed, 4);
  const ipv6 = addressesCovered(parsed, 6);
  if (ipv4 === 1n << 32n || ipv6 === 1n << 128n) {
    return 'the whole internet';
  }
  const parts: string[] = [];
  if (ipv4 > WORLD_OPEN_LINE.ipv4.addresses) {
    parts.push(`${ipv4.toLocaleString('en-US')} IPv4 addresses`);
  }
  if (ipv6 > WORLD_OPEN_LINE.ipv6.addresses) {
    parts.push(`${powerOfTwoText(ipv6)} IPv6 addresses`);
  }
  return parts.length === 0 ? null : parts.join(' and ');
}

/** "2^97" for a power of two, else "more than 2^96": IPv6 counts are too long to read in full. */
function powerOfTwoText(n: bigint): string {
  const log2 = n.toString(2).length - 1;
  return n === 1n << BigInt(log2) ? `2^${log2}` : `more than 2^${log2}`;
}

const AccessSchema = section('the access settings', {
  sshCidrs: cidrList('who may reach SSH port 22')
    .default([])
    .describe('IPv4/IPv6 CIDR blocks allowed to reach SSH (port 22), e.g. ["203.0.113.7/32"]. Empty: no SSH ingress; use SSM Session Manager.'),
  dashboardCidrs: cidrList('who may reach the Dask dashboard, port 8787')
    .default([])
    .describe('IPv4/IPv6 CIDR blocks allowed to reach the Dask dashboard (port 8787). Empty: reach it through an SSH or SSM tunnel only.'),
  publicKey: checkedString('expected an OpenSSH public key line ("ssh-ed25519 AAAA... comment") or null', publicKeyProblem, looksLikePrivateKey)
    .nullable()
    .default(null)
    .describe('Your OpenSSH public key ("ssh-ed25519 AAAA... comment" or "ssh-rsa ..." of at least 2048 bits), installed for the ubuntu user instead of a generated EC2 key pair. Never a private key. null: dasklab generates key pairs.'),
  allowWorldOpen: z
    .array(z.enum(WORLD_OPENABLE, { error: `expected ${WORLD_OPENABLE.map((f) => `"${f}"`).join(' or ')}` }), {
      error: 'expected a list of the access fields that may open more than a /8 of IPv4 or a /32 of IPv6 (such as 0.0.0.0/0), e.g. ["sshCidrs"]',
    })
    .default([])
    .describe('Access lists that may open their port to more than a /8 of IPv4 or a /32 of IPv6, counted over the whole list (0.0.0.0/0, ::/0, or halves such as 0.0.0.0/1 + 128.0.0.0/1): "sshCidrs", "dashboardCidrs". Without this, such a list is rejected; with it, synth still warns.'),
});

const MachineSchema = section('the machine settings', {
  instanceType: checkedString('expected an EC2 instance type string such as "t3.medium"', instanceTypeProblem)
    .meta(INSTANCE_TYPE_HINT)
    .default('t3.medium')
    .describe('EC2 instance type of the standalone machine, <family>.<size>, e.g. "t3.medium", "m7g.xlarge". Arm64 (Graviton) types get the arm64 Ubuntu image.'),
  diskGiB: intRange(8, 16384)
    .default(30)
    .describe('Size of the root volume (gp3) in GiB, 8 to 16384.'),
  ubuntu: z
    .enum(UBUNTU_RELEASE_NAMES, { error: `expected one of the supported Ubuntu releases: ${UBUNTU_RELEASE_NAMES.map((r) => `"${r}"`).join(', ')}` })
    .default('24.04')
    .describe('Ubuntu LTS release of the machine image (Canonical\'s public AMI).'),
  readyTimeoutMinutes: intRange(5, 720, ' (CloudFormation waits at most 12 hours)')
    .default(30)
    .describe('How long `cdk deploy` waits, in minutes, for each machine\'s bootstrap to verify itself before failing the deploy. 5 to 720.'),
  bake: bool()
    .default(false)
    .describe('true: the deploy first builds one machine image per CPU architecture (EC2 Image Builder, from Canonical\'s Ubuntu) with Python, the venv and python.packages installed, and every machine of the app boots from it, so that a machine, a replacement or a reset runs only its own setup at boot (about a third of the time in the twin) and all run the same versions. A change of what goes into the image rebuilds it and replaces every machine. false: each machine installs at its first boot.'),
});

/**
 * An AWS CodeArtifact repository as the package index. The machines fetch a
 * short-lived token with their own role at boot; no secret is in the config,
 * the user data or the log. Name rules are CodeArtifact's own
 * (https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_GetAuthorizationToken.html,
 * https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_GetRepositoryEndpoint.html).
 */
const CodeArtifactSchema = section('a CodeArtifact repository', {
  domain: z
    .string({ error: 'expected a CodeArtifact domain name string such as "acme"' })
    .regex(/^[a-z][a-z0-9-]{0,48}[a-z0-9]$/, {
      error: 'expected a CodeArtifact domain name: 2 to 50 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit',
    })
    .describe('The CodeArtifact domain, e.g. "acme".'),
  repository: z
    .string({ error: 'expected a CodeArtifact repository name string such as "pypi-store"' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$/, {
      error: 'expected a CodeArtifact repository name: 2 to 100 letters, digits, ".", "_" and "-", starting with a letter or digit',
    })
    .describe('The repository in the domain that pip installs from, e.g. "pypi-store".'),
  domainOwner: z
    .string({ error: 'expected the 12-digit AWS account id (a string) that owns the domain, or null' })
    .regex(/^[0-9]{12}$/, { error: 'expected the 12-digit AWS account id that owns the domain, without dashes, e.g. "111122223333", or null' })
    .nullable()
    .default(null)
    .describe('The 12-digit account id that owns the domain. null: the account the stacks deploy to.'),
  region: z
    .string({ error: 'expected an AWS region string such as "eu-central-1", or null' })
    .regex(/^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/, { error: 'expected an AWS region such as "eu-central-1", or null' })
    .nullable()
    .default(null)
    .describe('The region of the domain. null: the region the stacks deploy to.'),
});

/** The validated `python.codeArtifact`, when set. */
export type CodeArtifactRepository = z.output<typeof CodeArtifactSchema>;

const PythonSettingsSchema = section('the Python settings', {
  version: z
    .string({ error: 'expected a Python version string "3.N", e.g. "3.12" (in quotes: the number 3.10 would read as 3.1)' })
    .regex(PYTHON_VERSION_PATTERN, { error: 'expected a Python version of the form "3.N", e.g. "3.12"' })
    .default('3.12')
    .describe('Python version, "3.N". Installed from the Ubuntu release\'s own archive, so it must be one that release offers (24.04: 3.12).'),
  packages: packageList()
    .default([...DEFAULT_PACKAGES])
    .describe('pip requirements installed into the venv (1 to 100), e.g. ["numpy", "dask[complete]>=2024.1", "pandas==2.2.*"]. A cluster needs "dask[complete]", "dask[distributed]" or "distributed".'),
  indexUrl: checkedString('expected an https URL string or null', indexUrlProblem, indexUrlHoldsCredential)
    .nullable()
    .default(null)
    .describe('https URL of a PEP 503 simple package index to install from instead of PyPI, e.g. "https://pypi.example.org/simple/". No credentials, query string or token in it (it is visible in user data); for a private index use codeArtifact. null: PyPI.'),
  codeArtifact: CodeArtifactSchema.nullable()
    .default(null)
    .describe('An AWS CodeArtifact repository to install from instead of PyPI: { "domain", "repository", "domainOwner"?, "region"? }. The machines\' role may read only this repository, and each machine fetches a short-lived token at boot. null: none. Not together with indexUrl.'),
  venv: checkedString('expected an absolute path string such as "/opt/dask/venv"', venvProblem)
    .meta({ pattern: '^/[A-Za-z0-9._/-]+$' }) // a hint for editors; venvProblem is the real check
    .default('/opt/dask/venv')
    .describe('Absolute path of the virtual environment with the packages, a directory of its own under /opt/ or /srv/ (the bootstrap replaces it when it is broken); the ubuntu user\'s shell activates it.'),
  lockFile: checkedString('expected the path of a pip lock file, e.g. "requirements.lock", or null', lockFilePathProblem)
    .nullable()
    .default(null)
    .describe(
      'A pip lock file, relative to the config file: every package of the venv pinned with ==, each with --hash=sha256:..., as "pip-compile --generate-hashes" or "uv pip compile --generate-hashes" write it. ' +
        'Every machine installs exactly it, with pip\'s hash-checking mode; synth refuses one that does not pin python.packages (and the course\'s and JupyterLab\'s packages) at versions they allow. ' +
        'Shipped as an asset with the deploy. null: the first machine resolves the versions and the app\'s others install the same.',
    ),
});

/** The validated `python` section. */
export type PythonConfig = z.output<typeof PythonSettingsSchema> & {
  /** The file `lockFile` names, read and checked by the loader; undefined when `lockFile` is null. */
  lock?: PythonLockFile;
};

/**
 * The schema of the `python` section; its declared output is {@link PythonConfig},
 * whose `lock` the loader fills in (the schema does no I/O).
 */
const PythonSchema = PythonSettingsSchema as unknown as z.ZodType<PythonConfig, z.input<typeof PythonSettingsSchema>>;

const ClusterSchema = section('the cluster settings', {
  workers: intRange(1, 100)
    .default(2)
    .describe('Number of Dask worker machines, 1 to 100.'),
  schedulerInstanceType: checkedString('expected an EC2 instance type string such as "t3.medium"', instanceTypeProblem)
    .meta(INSTANCE_TYPE_HINT)
    .default('t3.medium')
    .describe('EC2 instance type of the Dask scheduler machine, e.g. "t3.medium".'),
  workerInstanceType: checkedString('expected an EC2 instance type string such as "t3.large"', instanceTypeProblem)
    .meta(INSTANCE_TYPE_HINT)
    .default('t3.large')
    .describe('EC2 instance type of each Dask worker machine, e.g. "t3.large" or "c7g.2xlarge".'),
  spot: bool()
    .default(false)
    .describe('Run the workers on persistent EC2 Spot capacity (cheaper; a reclaimed worker stops and restarts when capacity returns). The scheduler stays on demand.'),
  tls: bool()
    .default(true)
    .describe('Mutual TLS between scheduler, workers and clients (tls:// addresses). The scheduler makes the certificates; they are shared only through SecureString parameters of this cluster in SSM Parameter Store, and `dasklab tls-client` gives a client its copy. false: plain TCP inside the cluster\'s security groups.'),
  jupyter: bool()
    .default(false)
    .describe('JupyterLab on the scheduler, on its loopback only, reached through an SSH tunnel or Session Manager port forwarding; `Client()` in a notebook finds the cluster.'),
});

/**
 * The dasklab config schema. Parse with `ConfigSchema.safeParse(json)`, or use
 * `validateConfig`/`loadConfig`, which turn the issues into readable messages.
 */
export const ConfigSchema = z
  .strictObject(
    {
      $schema: z
        .string({ error: 'expected a string: the path or URL of the JSON schema, for editors' })
        .optional()
        .describe('JSON schema for editor completion, e.g. "./dasklab.schema.json". Ignored by dasklab.'),
      name: z
        .string({ error: 'expected a name string such as "dasklab"' })
        .regex(NAME_PATTERN, {
          error: `${NAME_RULE} (it prefixes stack names and tags)`,
        })
        .default('dasklab')
        .describe('Prefix of the stack names (<name>-Machine, <name>-Cluster) and value of the dasklab:app tag. 2 to 24 of a-z, 0-9 and single "-", starting with a letter.'),
      access: AccessSchema.prefault({}).describe('Who may reach the machines, and with which SSH key.'),
      machine: MachineSchema.prefault({}).describe('The EC2 machine: instance type, disk, Ubuntu release, readiness timeout.'),
      python: PythonSchema.prefault({}).describe('Python on the machines: version, packages installed into a venv, package index.'),
      cluster: ClusterSchema.optional().describe('Present: deploy a Dask cluster (one scheduler and `workers` workers) instead of one standalone machine. Absent: no cluster.'),
      lab: LabSchema.optional().describe('Present: deploy one machine (or, with workersPerStudent, one small Dask cluster) per student of a roster, in stacks <name>-Lab-<k>. Absent: no lab. Not together with cluster.'),
      network: NetworkSchema.optional().describe('Present: the machines go into this existing VPC and its subnets (given in full: ids, zones, CIDRs). Absent: each app makes its own VPC with public subnets.'),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected a JSON object with the fields $schema, name, access, machine, python, cluster, lab, network' : undefined) },
  )
  .superRefine(
    (config, ctx) => {
      // Cross-field checks. They run even when other fields have problems (see
      // `when`) so that every problem is reported at once; hence the guards,
      // since a field that failed its own check may be missing or mistyped here.
      const ubuntu = config.machine?.ubuntu;
      const version = config.python?.version;
      if (typeof ubuntu === 'string' && Object.hasOwn(UBUNTU_RELEASES, ubuntu) && typeof version === 'string' && PYTHON_VERSION_PATTERN.test(version)) {
        const offered: readonly string[] = UBUNTU_RELEASES[ubuntu].pythonVersions;
        if (!offered.includes(version)) {
          ctx.addIssue({
            code: 'custom',
            path: ['python', 'version'],
            input: version,
            message: `expected a Python version that Ubuntu ${ubuntu} offers: ${offered.map((v) => `"${v}"`).join(', ')}`,
          });
        }
      }
      const access = config.access;
      if (access && typeof access === 'object') {
        const allowed: unknown[] = Array.isArray(access.allowWorldOpen) ? access.allowWorldOpen : [];
        for (const field of WORLD_OPENABLE) {
          const cidrs = access[field];
          if (!Array.isArray(cidrs) || allowed.includes(field)) continue;
          const extent = worldOpenExtent(cidrs);
          if (extent !== null) {
            ctx.addIssue({
              code: 'custom',
              path: ['access', field],
              input: cidrs,
              message: `expected CIDRs that together cover no more than ${WORLD_OPEN_LINE_TEXT}: this list opens ${OPENS[field]} to ${extent}; if that is intended, add "${field}" to access.allowWorldOpen`,
            });
          }
        }
      }
      const subnets: unknown[] = Array.isArray(config.network?.subnets) ? config.network.subnets : [];
      if (config.machine?.bake === true && subnets.length > 0 && subnets.every((subnet: any) => subnet?.public === true)) {
        ctx.addIssue({
          code: 'custom',
          path: ['machine', 'bake'],
          input: true,
          message:
            'expected false when every subnet of network.subnets is public: Image Builder gives the build instance no public IP of its own, ' +
            'so the image is built in a private subnet that reaches the internet through a NAT gateway; add one to network.subnets',
        });
      }
      if (config.machine?.bake === true && typeof config.network?.proxy === 'string') {
        // Image Builder runs the build through the instance's SSM agent, which the build does not route through a proxy.
        ctx.addIssue({
          code: 'custom',
          path: ['machine', 'bake'],
          input: true,
          message:
            'expected false when network.proxy is set: the image is built in the network\'s first subnet, which must reach the Ubuntu archive, ' +
            'the package index and Systems Manager without a proxy (through a NAT gateway, or an internet gateway with public IPs on launch)',
        });
      }
      if (typeof config.network?.schedulerAddress === 'string' && config.cluster === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'schedulerAddress'],
          input: config.network.schedulerAddress,
          message: 'expected null unless cluster is set (only a cluster\'s scheduler has a fixed address)',
        });
      }
      const codeArtifactRegion = config.python?.codeArtifact?.region;
      const networkRegion = Array.isArray(config.network?.subnets) ? regionOfZone(String(config.network.subnets[0]?.zone)) : null;
      if (config.network?.endpoints === 'create' && typeof codeArtifactRegion === 'string' && networkRegion !== null && codeArtifactRegion !== networkRegion) {
        ctx.addIssue({
          code: 'custom',
          path: ['python', 'codeArtifact', 'region'],
          input: codeArtifactRegion,
          message: `expected the VPC's region, ${networkRegion}, or null, with network.endpoints "create": a VPC endpoint serves requests to its own region only (https://docs.aws.amazon.com/codeartifact/latest/ug/vpc-endpoints.html)`,
        });
      }
      if (config.python?.indexUrl != null && config.python?.codeArtifact != null) {
        ctx.addIssue({
          code: 'custom',
          path: ['python', 'codeArtifact'],
          input: config.python.codeArtifact,
          message: 'expected either python.indexUrl or python.codeArtifact, not both (pip reads one index)',
        });
      }
      const packages = config.python?.packages;
      const cluster: unknown = config.cluster;
      const lab: unknown = config.lab;
      const packagesValid = Array.isArray(packages) && packages.every((p) => typeof p === 'string' && requirementProblem(p) === null);
      if (typeof cluster === 'object' && cluster !== null && packagesValid) {
        if (!providesDistributed(packages)) {
          ctx.addIssue({
            code: 'custom',
            path: ['python', 'packages'],
            input: packages,
            message: 'expected the packages to include "dask[complete]", "dask[distributed]" or "distributed" when cluster is set (the scheduler and workers run dask.distributed)',
          });
        }
      }
      if (typeof lab === 'object' && lab !== null) {
        if (typeof cluster === 'object' && cluster !== null) {
          ctx.addIssue({
            code: 'custom',
            path: ['cluster'],
            input: cluster,
            message: 'expected either cluster (one shared Dask cluster) or lab (machines per student), not both; for a Dask cluster per student use lab.workersPerStudent',
          });
        }
        const workers: unknown = (lab as { workersPerStudent?: unknown }).workersPerStudent;
        if (typeof workers === 'number' && workers > 0 && packagesValid && !providesDistributed(packages)) {
          ctx.addIssue({
            code: 'custom',
            path: ['python', 'packages'],
            input: packages,
            message: 'expected the packages to include "dask[complete]", "dask[distributed]" or "distributed" when lab.workersPerStudent is above 0 (each student\'s scheduler and workers run dask.distributed)',
          });
        }
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
  )
  // Last: derived lab fields (students of an inline roster, the default instance type).
  .overwrite((config) => completeLab(guardUnreadLockFile(config)));

/**
 * Until the loader has read `python.lockFile`, `python.lock` is a getter that
 * throws, saying so, rather than undefined, which would install unlocked.
 */
function guardUnreadLockFile<C>(config: C): C {
  const python = (config as { python?: unknown }).python;
  if (typeof python !== 'object' || python === null) return config;
  const lockFile = (python as { lockFile?: unknown }).lockFile;
  if (typeof lockFile !== 'string') return config;
  const guarded = { ...python };
  defineUnreadGetter(
    guarded,
    'lock',
    `python.lock: the lock file ${JSON.stringify(lockFile)} has not been read; ConfigSchema does not read files. ` +
      'Use loadConfig(file), or validateConfig(data, source, configDir), which read it relative to the config\'s directory.',
  );
  return { ...config, python: guarded };
}

/** A validated config with every default filled in: what the constructs get. */
export type DasklabConfig = z.output<typeof ConfigSchema>;

/** What a user may write in dasklab.config.json: every field with a default is optional. */
export type DasklabConfigInput = z.input<typeof ConfigSchema>;

/** The validated `cluster` section (present only when a cluster is wanted). */
export type ClusterConfig = NonNullable<DasklabConfig['cluster']>;

export type { LabConfig, LabConfigInput, LabSchedule, Weekday } from './lab-schema';
