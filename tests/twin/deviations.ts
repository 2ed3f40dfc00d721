/**
 * Every way the twin differs from a real EC2 machine, in one place.
 *
 * The list is printed when a twin starts, and the user-data rewrites that follow
 * from it are made here and nowhere else, so a reader of a twin run knows exactly
 * what was and was not tested.
 */
import { venvAptPackagesFor } from '../../lib/bootstrap/bootstrap-user-data';
/** EC2's user-data limit; the twin refuses larger user data as EC2 would. */
export { USER_DATA_LIMIT_BYTES } from '../../lib/bootstrap/bootstrap-user-data';

/** One difference from EC2 and why the twin has to make it. */
export interface Deviation {
  what: string;
  why: string;
}

/** The python the twin's Debian trixie rootfs provides (Ubuntu 24.04 has 3.12). */
export const TWIN_PYTHON_VERSION = '3.13';

/** pip requirements the twin's index cannot satisfy, and what it installs instead. */
export const PIP_REQUIREMENT_REWRITES: Readonly<Record<string, string>> = {
  'dask[complete]': 'dask[array,distributed]',
};


export const DEVIATIONS: readonly Deviation[] = [
  {
    what: 'Debian trixie rootfs in a systemd-nspawn container instead of Ubuntu 24.04 on EC2',
    why: "Ubuntu's archive is not reachable here; Debian's is. systemd, cloud-init, apt and the default user `ubuntu` are shaped like Ubuntu's cloud image.",
  },
  {
    what: `python ${TWIN_PYTHON_VERSION} instead of 3.12: the user-data line DASKLAB_PYTHON_VERSION is rewritten to '${TWIN_PYTHON_VERSION}'`,
    why: `trixie's only python is ${TWIN_PYTHON_VERSION}.`,
  },
  {
    what: "apt sources are only the twin's flat repo (deb [trusted=yes] http://10.213.0.1:8080/ ./), holding the .debs the bootstrap installs (with their Recommends) as downloaded from Debian trixie",
    why: 'machines have no route out of the twin network.',
  },
  {
    what: "DASKLAB_PIP_INDEX_URL is rewritten to the twin's PEP 503 index, whose wheels are repackaged from Debian trixie's installed python3-* packages (Debian's versions, e.g. dask 2024.12.1+dfsg; numpy's C headers from python3-numpy-dev are not in the numpy wheel)",
    why: 'PyPI is not reachable.',
  },
  {
    what: "the rootfs's /etc/pip.conf trusts the index host (trusted-host = 10.213.0.1)",
    why: "the twin's index is plain http, which pip ignores on a non-local host; a real private index would be https.",
  },
  {
    what: `pip requirements rewritten: ${Object.entries(PIP_REQUIREMENT_REWRITES)
      .map(([from, to]) => `${from} -> ${to}`)
      .join(', ')}`,
    why: "Debian does not package pyarrow and bokeh (part of dask's `complete` extra), so that extra cannot be built from Debian's packages.",
  },
  {
    what: 'the rootfs carries libblas3 and liblapack3',
    why: "numpy wheels made from Debian's numpy link against the system BLAS/LAPACK, where a PyPI wheel bundles OpenBLAS.",
  },
  {
    what: "JupyterLab and its dependencies on the index are Debian trixie's (jupyterlab 4.0.11, jupyter_server 2.15); their data files (/usr/share/jupyter/lab, /etc/jupyter) become the wheels' data files, as in PyPI's wheels; requirements Debian does not package are left out of the wheels' metadata (jupyterlab's jupyter-lsp, jsonschema[format-nongpl]'s uri-template), as Debian's own packages run without them; cffi's wheel holds python3-cffi-backend's compiled backend; the rootfs carries libzmq5 and libargon2-1",
    why: "PyPI is not reachable; pyzmq and argon2-cffi made from Debian's packages link against the system's libzmq and libargon2, where PyPI's wheels bundle them.",
  },
  {
    what: "cloud-init uses the NoCloud datasource (seed bind-mounted at /var/lib/cloud/seed/nocloud) instead of Ec2; IMDSv2 at 169.254.169.254 is the twin's own (token required, per-source-IP instance-id, local-ipv4, region us-east-1, instance-type)",
    why: "there is no EC2 metadata service; the bootstrap's own IMDS reads still go to the usual address.",
  },
  {
    what: "DASKLAB_AWS_ENDPOINT_URL is rewritten to the twin's EC2 endpoint (http://10.213.0.1:8083), which answers CreateTags of the dasklab:bootstrap tag on the caller's own instance (what the instance role allows) and refuses everything else; IMDS hands out fake instance-role credentials",
    why: 'no AWS API is reachable; the endpoint identifies the caller by source IP instead of by signature.',
  },
  {
    what: "SSM Parameter Store is moto 5.1 (Debian trixie's python3-moto, the CLI tests' cached tree at /var/cache/dasklab-moto, run with chroot inside the hub namespace on its loopback), started only when a machine's role may use SSM parameters (the cluster's certificates, the app's version sets) or S3 objects; the twin's AWS endpoint forwards SSM requests (X-Amz-Target AmazonSSM.*) to it, allowing an action only on the names below a path its role's Allow statements grant it on, and refusing the rest with AccessDeniedException. Deny statements (the version sets' ssm:Overwrite deny) are not evaluated; the bootstrap never asks to overwrite. SecureString values are not encrypted with a KMS key",
    why: 'no AWS API is reachable; DASKLAB_AWS_ENDPOINT_URL names one endpoint for every service, as AWS_ENDPOINT_URL does for boto3, so SSM arrives where EC2 does. The grants come from the template\'s role policies (instance-roles.ts); the unit tests evaluate every statement, denies included, with IAM\'s evaluation logic (tests/unit/iam-roles.test.ts).',
  },
  {
    what: "the CDK's asset bucket (cdk-hnb659fds-assets-000000000000-us-east-1) is moto's S3, in the same moto, started when a machine's role may get an S3 object: before the machines boot, the twin zips each such directory asset of cdk.out as cdk-assets does (files only, modes kept, 1980 dates), takes each such file asset (python.lockFile's lock) as it is, and uploads it under the manifest's key, as `cdk deploy` would; the twin's AWS endpoint forwards a machine's GET and HEAD of an object (path-style, as boto3 addresses a custom endpoint) to moto only when the machine's role policy in the template grants s3:GetObject on that object's ARN, and answers AccessDenied otherwise. No KMS encryption, no bucket policy (TLS-only on AWS)",
    why: "no AWS API is reachable and nothing is deployed; the endpoint identifies the caller by source IP instead of by signature.",
  },
  {
    what: 'a spot worker (Custom::DasklabSpotMachine) boots like an instance, from the same properties; whether EC2 gives it spot or on-demand capacity is not simulated',
    why: "there is no Lambda or EC2 capacity here; the launcher's spot attempt and on-demand fallback are tested against moto (tests/moto/custom-resources.moto.test.ts).",
  },
  {
    what: "wait-condition handles resolve to plain-http URLs of the twin's signal receiver (http://10.213.0.1:8081/signal/<handle>) instead of pre-signed S3 https URLs",
    why: 'no CloudFormation; the receiver speaks the same PUT protocol.',
  },
  {
    what: "every machine has a twin service address 10.213.0.11, .12, ... besides its private IP (a fixed PrivateIpAddress from the template, else a free address of the template's VPC CIDR, else the service address itself); all machines share one L2 segment whatever their subnets",
    why: "the twin's services live at 10.213.0.1, which the rootfs's apt sources name; the template's subnets are AWS constructs the twin does not model.",
  },
  {
    what: "security groups are enforced between machines by nftables in each machine's own network namespace (security-groups.ts: the union of its groups' ingress and egress rules, stateful, membership = the members' private IPs; CidrIpv6 and prefix lists never match); the twin's service addresses (10.213.0.1 and 169.254.169.254) are exempt in both directions, and traffic between machines' service addresses is dropped",
    why: "EC2 never filters IMDS, and the apt/pip/signal/EC2 endpoints stand for AWS-side services reached over 80/443, which the twin serves on other ports; the rules sit in the machine's namespace, where its root (CAP_NET_ADMIN) could change them, unlike a real security group.",
  },
  {
    what: "a subnet without a way out (twin option wayOut 'none' or 'proxy', way-out.ts) is nftables in the machine's namespace dropping its packets to the apt repository and the pip index; the signal receiver and the AWS endpoint stay reachable, as through VPC endpoints. With 'proxy', the twin's proxy (proxy.ts, http://10.213.0.1:3128, in the hub namespace) is the only way to them, and forwards only to the twin's own services; the AWS endpoint knows a machine whose request the proxy forwards by the proxy's X-Forwarded-For header",
    why: "the twin's services share one address, so what a route table would do is done per port; the machine's own root could change the rules, unlike a VPC's routes. The AWS endpoint identifies callers by address, not by signature.",
  },
  {
    what: 'no DNS and no default route; cloud-init writes /etc/hosts (manage_etc_hosts: localhost)',
    why: "nothing may leave the twin's network namespaces; Ubuntu resolves its own hostname through systemd-resolved instead.",
  },
  {
    what: 'apt-daily timers, e2scrub, fstrim, man-db and gettys are masked in the rootfs',
    why: 'they make no sense in a container and slow the boot; on Ubuntu, first-boot apt timers may briefly hold the apt lock, which the twin exercises only with the fault option aptLockSeconds (a unit holding the apt and dpkg locks from early boot).',
  },
  {
    what: "the root filesystem is a tmpfs overlay (--volatile=overlay) over a shared read-only rootfs; state is lost when a machine stops, so reboots are not modelled, except with the twin option persistentRoot: then each machine's root is an overlay whose upper layer lives in the run dir (removed at stop), and a reboot inside it (nspawn exits 133) boots the same container again with its state, seed, addresses and instance-id",
    why: 'several machines boot from one cached rootfs without copying it.',
  },
  {
    what: 'containers get CAP_NET_ADMIN explicitly',
    why: 'systemd-nspawn joins an existing network namespace (--network-namespace-path) without it, and systemd-networkd then refuses to start.',
  },
  {
    what: 'each machine runs in its own time namespace whose boot clock starts at its container start (/proc/uptime counts from there)',
    why: 'a container would otherwise see the host uptime; the bootstrap computes its readiness deadline from uptime.',
  },
  {
    what: "the machines' systemd runs on the host's cgroup layout (hybrid on the CI and development hosts: cgroup v1 controllers, the unified hierarchy beside them), not cgroup v2 alone as Ubuntu 24.04 on EC2",
    why: "systemd-nspawn gives a container the host's layout. Restarting a finished unit there can race systemd's removal of its emptied cgroup; a restart whose job fails with Result=resources (the unit never ran) is logged and made once more by the tests (restartUnit in support.ts).",
  },
  {
    what: 'instance types are metadata only: every machine shares the host CPUs and memory',
    why: 'containers, not VMs.',
  },
  {
    what: "each machine's /proc/stat is the twin's (proc-stat.ts): its `cpu` lines count the CPU time of the machine's own processes (its PID namespace) as user time, and the rest of the wall-clock time of the host's CPUs as idle; no nice/system/iowait/steal split; the other lines are the host's",
    why: "a container sees the host's /proc/stat, where every other machine's and the host's load would count as its own (the lab idle stop reads it); an EC2 instance sees only its own vCPUs.",
  },
  {
    what: "key pairs EC2 would generate (AWS::EC2::KeyPair without PublicKeyMaterial) are generated by the twin with ssh-keygen into its run dir; the private key's path stands for the SSM parameter /ec2/keypair/<key-pair-id>, and key-pair ids are made up (key-twin...). The public key reaches cloud-init as NoCloud meta-data `public-keys` instead of IMDS public-keys/0/openssh-key; cloud-init installs it for `ubuntu` the same way",
    why: 'no EC2 API or SSM; the NoCloud datasource carries public keys in its meta-data.',
  },
  {
    what: "a baked image (a launch template whose ImageId is resolve:ssm:<name> of an AWS::SSM::Parameter of the app whose Value is an AWS::ImageBuilder::Image's ImageId; image.ts) is built by the twin, not by EC2 Image Builder: its parent image is the twin's rootfs (standing for the recipe's Canonical Ubuntu); the build instance is a container booted like a machine (its own address, IMDS identity and the SSM grants of the infrastructure configuration's instance-profile role, no user data, no security groups or way-out rules) where the build and validate phases' ExecuteBash steps run as root, each as one bash script, once cloud-init is done (no SSM agent, no AWSTOE: other actions, component parameters and step options such as timeouts and loops are refused or ignored; no test phase, no test instance). After the steps, of Image Builder's post-build cleanup only what matters to copies booted from the image: cloud-init clean --logs --machine-id (D-Bus's machine id linked to it, as in Ubuntu's images, where the twin's rootfs has a copy), SSH host keys, authorized_keys, /tmp and /var/tmp. The image is the stopped build container's root, copied into a directory that its machines' overlays (volatile or persistent, and Twin.replaceRootVolume) use instead of the rootfs",
    why: 'no Image Builder, SSM agent or AMIs here; the build installs what the machines would, through the same apt repository, pip index and moto.',
  },
  {
    what: "a built image is cached under /var/cache/dasklab-twin (image-<component name without its digest>-<key>) by a digest of its build steps as the twin runs them, the rootfs, the indexes and image.ts, and reused by later runs; what the build put into SSM Parameter Store (the app's version set) is kept with it and put into a later run's moto before its machines boot, where it would be had the image been built in that run",
    why: 'a build takes about a minute; on AWS the image and the version set its build shared are made by the same deploy.',
  },
  {
    what: 'several stacks of one app are booted at once (a lab); Fn::ImportValue is resolved within the synthesized app to the exporting stack\'s output, with no deploy order or real exports',
    why: 'no CloudFormation; the stacks that hold no instances (a lab\'s shared stack) have nothing to boot.',
  },
];

/** The deviations as printed at twin start. */
export function describeDeviations(): string {
  return [
    'dasklab twin: differences from EC2',
    ...DEVIATIONS.map((d, i) => `  ${i + 1}. ${d.what}\n     why: ${d.why}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------
// The user-data parameter block (lib/bootstrap/bootstrap-user-data.ts renders it):
//   # >>> dasklab parameters
//   NAME='value'  or  NAME=('a' 'b')
//   # <<< dasklab parameters

const BEGIN = '# >>> dasklab parameters';
const END = '# <<< dasklab parameters';

type Value = string | string[];

/** Parses a bash word made of '...' quotes, \x escapes and plain characters (no expansions). */
function parseWords(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    let word = '';
    while (i < text.length && !/\s/.test(text[i])) {
      const c = text[i];
      if (c === "'") {
        const close = text.indexOf("'", i + 1);
        if (close < 0) throw new Error(`unterminated quote in parameter value: ${text}`);
        word += text.slice(i + 1, close);
        i = close + 1;
      } else if (c === '\\') {
        word += text[i + 1] ?? '';
        i += 2;
      } else if (c === '"' || c === '$' || c === '`') {
        throw new Error(`the twin only understands single-quoted parameter values: ${text}`);
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

function parseValue(raw: string): Value {
  if (raw.startsWith('(')) {
    if (!raw.endsWith(')')) throw new Error(`unterminated array in parameter block: ${raw}`);
    return parseWords(raw.slice(1, -1));
  }
  const words = parseWords(raw);
  if (words.length > 1) throw new Error(`parameter value is more than one word: ${raw}`);
  return words[0] ?? '';
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const render = (name: string, v: Value): string =>
  Array.isArray(v) ? `${name}=(${v.map(quote).join(' ')})` : `${name}=${quote(v)}`;

/** Reads the parameter block of a resolved user-data script. */
export function readParameters(script: string): Map<string, Value> {
  const lines = script.split('\n');
  const begin = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  if (begin < 0 || end < begin) {
    throw new Error(`user data has no "${BEGIN}" ... "${END}" block`);
  }
  const params = new Map<string, Value>();
  for (const line of lines.slice(begin + 1, end)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected line in the parameter block: ${line}`);
    params.set(m[1], parseValue(m[2]));
  }
  return params;
}

/** What the twin changes in one machine's user data. */
export interface TwinUserDataSettings {
  /** The twin's PEP 503 index URL. */
  pipIndexUrl: string;
  /** The twin's AWS API endpoint (used if the user data has DASKLAB_AWS_ENDPOINT_URL). */
  awsEndpointUrl: string;
}

/** A user-data script adapted to the twin, with the list of changes made. */
export interface AdaptedUserData {
  script: string;
  changes: string[];
  parameters: Map<string, Value>;
}

/**
 * Applies the twin's parameter rewrites (python version, pip index, pip
 * requirements). Fails loudly if a parameter the twin must rewrite is missing.
 */
export function adaptUserData(script: string, settings: TwinUserDataSettings): AdaptedUserData {
  const params = readParameters(script);
  const changes: string[] = [];
  const set = (name: string, value: Value) => {
    const before = params.get(name);
    if (before === undefined) throw new Error(`user data parameter ${name} is missing`);
    if (JSON.stringify(before) !== JSON.stringify(value)) {
      changes.push(`${name}: ${JSON.stringify(before)} -> ${JSON.stringify(value)}`);
    }
    params.set(name, value);
  };
  set('DASKLAB_PYTHON_VERSION', TWIN_PYTHON_VERSION);
  if (params.has('DASKLAB_APT_PACKAGES')) set('DASKLAB_APT_PACKAGES', venvAptPackagesFor(TWIN_PYTHON_VERSION));
  set('DASKLAB_PIP_INDEX_URL', settings.pipIndexUrl);
  if (params.has('DASKLAB_AWS_ENDPOINT_URL')) set('DASKLAB_AWS_ENDPOINT_URL', settings.awsEndpointUrl);
  const packages = params.get('DASKLAB_PIP_PACKAGES');
  if (!Array.isArray(packages)) throw new Error('user data parameter DASKLAB_PIP_PACKAGES is not an array');
  set('DASKLAB_PIP_PACKAGES', packages.map((p) => PIP_REQUIREMENT_REWRITES[p] ?? p));

  const lines = script.split('\n');
  const begin = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  const block = [...params].map(([name, value]) => render(name, value));
  const out = [...lines.slice(0, begin + 1), ...block, ...lines.slice(end)].join('\n');
  return { script: out, changes, parameters: params };
}
