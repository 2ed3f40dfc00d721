/**
 * What the moto tests share: the AWS environment pointed at moto, an
 * in-process CLI run with captured output, and a fake deploy: the instances,
 * tags, key pairs, SSM parameters and security groups `cdk deploy` creates.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  EC2Client,
  ImportKeyPairCommand,
  RunInstancesCommand,
  Tag,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENDPOINT_ENV } from '../../lib/cli/clients';
import { CliIo } from '../../lib/cli/io';
import { runCli } from '../../lib/cli/main';
import { keyParameterName } from '../../lib/cli/private-keys';
import { TAG_APP, TAG_JUPYTER, TAG_MARKET, TAG_ROLE, TAG_STUDENT } from '../../lib/tag-keys';
import { BOOTSTRAP_TAG } from '../../lib/cli/bootstrap-tag';
import { VersionSetKind, versionSetRoot } from '../../lib/machine/version-set';

/** The region the tests deploy to. */
export const REGION = 'us-east-1';

/** Variables set while the moto tests run; restored afterwards. */
const VARIABLES = [
  ENDPOINT_ENV, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_PROFILE',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
];

/**
 * Points the AWS SDK of this process at moto with fake credentials, isolated
 * from any real AWS profile, and never at instance metadata (169.254.169.254).
 *
 * @returns a function that restores the environment
 */
export function useMotoEnvironment(endpoint: string): () => void {
  const saved = new Map(VARIABLES.map((v) => [v, process.env[v]]));
  const empty = path.join(os.tmpdir(), 'dasklab-moto-no-aws-config');
  Object.assign(process.env, {
    [ENDPOINT_ENV]: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: REGION,
    AWS_CONFIG_FILE: empty,
    AWS_SHARED_CREDENTIALS_FILE: empty,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** What a CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link cli}. */
export interface CliRunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Answer of the confirmation prompt. */
  readonly confirm?: boolean;
  /** Records `--open`'s child process instead of running it. */
  readonly run?: (command: string, args: readonly string[]) => Promise<number>;
}

/** Runs the CLI in this process and captures its output. */
export async function cli(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    now: () => new Date(),
    confirm: async () => options.confirm ?? false,
    run: options.run ?? (async () => 0),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** One machine of a fake deploy. */
export interface FakeMachine {
  readonly role: 'standalone' | 'scheduler' | 'worker' | 'student';
  readonly name: string;
  readonly student?: string;
  readonly instanceType?: string;
  /** The `dasklab:bootstrap` tag; none when undefined. */
  readonly bootstrap?: string;
  /** The `dasklab:market` tag of a spot worker; none when undefined. */
  readonly market?: 'spot' | 'on-demand';
  /** Without a public IP, as in the private subnets of an existing VPC. */
  readonly privateOnly?: boolean;
  /** The `dasklab:jupyter` tag a machine with JupyterLab sets on itself; none when undefined. */
  readonly jupyter?: string;
}

/** Options of {@link fakeDeploy}. */
export interface FakeDeployOptions {
  readonly app: string;
  readonly machines: readonly FakeMachine[];
  /** Open port 22 to a range, as `access.sshCidrs` does. */
  readonly sshOpen?: boolean;
  /** One imported key pair for all machines, as `access.publicKey` does (no SSM parameter). */
  readonly importedKey?: boolean;
}

/** A machine as created: its instance id and, for a generated key, the private key. */
export interface CreatedMachine extends FakeMachine {
  readonly instanceId: string;
  readonly privateKey?: string;
}

/**
 * Creates in moto what `cdk deploy` of the app would: a security group, a key
 * pair per machine (private key in SSM at /ec2/keypair/<id>, as
 * AWS::EC2::KeyPair keeps it) or one imported key, and the tagged instances.
 */
export async function fakeDeploy(options: FakeDeployOptions): Promise<CreatedMachine[]> {
  const ec2 = new EC2Client({ region: REGION, endpoint: process.env[ENDPOINT_ENV] });
  const ssm = new SSMClient({ region: REGION, endpoint: process.env[ENDPOINT_ENV] });
  try {
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${options.app}-machines-${Date.now()}`, Description: 'dasklab machines' }));
    if (options.sshOpen) {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }],
        }),
      );
    }
    let sharedKey: string | undefined;
    if (options.importedKey) {
      const { publicKey } = generateKeyPairSync('ed25519');
      const blob = sshEd25519Blob(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
      sharedKey = `${options.app}-imported`;
      await ec2.send(new ImportKeyPairCommand({ KeyName: sharedKey, PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob} trainer`) }));
    }
    const created: CreatedMachine[] = [];
    for (const machine of options.machines) {
      let keyName = sharedKey;
      let privateKey: string | undefined;
      if (keyName === undefined) {
        keyName = `${machine.name}-key`;
        const pair = await ec2.send(new CreateKeyPairCommand({ KeyName: keyName, KeyType: 'ed25519' }));
        privateKey = pair.KeyMaterial!;
        await ssm.send(new PutParameterCommand({ Name: keyParameterName(pair.KeyPairId!), Type: 'SecureString', Value: privateKey }));
      }
      const tags: Tag[] = [
        { Key: TAG_APP, Value: options.app },
        { Key: TAG_ROLE, Value: machine.role },
        { Key: 'Name', Value: machine.name },
      ];
      if (machine.student) tags.push({ Key: TAG_STUDENT, Value: machine.student });
      if (machine.market) tags.push({ Key: TAG_MARKET, Value: machine.market });
      if (machine.jupyter) tags.push({ Key: TAG_JUPYTER, Value: machine.jupyter });
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          InstanceType: (machine.instanceType ?? 't3.medium') as never,
          MinCount: 1,
          MaxCount: 1,
          KeyName: keyName,
          ...(machine.privateOnly
            ? { NetworkInterfaces: [{ DeviceIndex: 0, Groups: [GroupId!], AssociatePublicIpAddress: false }] }
            : { SecurityGroupIds: [GroupId!] }),
          TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
        }),
      );
      const instanceId = run.Instances![0].InstanceId!;
      if (machine.bootstrap !== undefined) {
        // What the machine's bootstrap does to its own instance.
        await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: BOOTSTRAP_TAG.key, Value: machine.bootstrap }] }));
      }
      created.push({ ...machine, instanceId, privateKey });
    }
    return created;
  } finally {
    ec2.destroy();
    ssm.destroy();
  }
}

/**
 * Puts a kind of a version set into moto as the first machine of that kind
 * shares it: `pip freeze` text at `/dasklab/<app>/python/<set>/<kind>`.
 *
 * @param set the set's 12 hex digits
 * @param pins project to version
 * @returns the parameter's name
 */
export async function shareVersionSet(app: string, set: string, kind: VersionSetKind, pins: Record<string, string>): Promise<string> {
  const ssm = new SSMClient({ region: REGION, endpoint: process.env[ENDPOINT_ENV] });
  const name = `${versionSetRoot(app)}/${set}/${kind}`;
  try {
    const freeze = Object.entries(pins).map(([project, version]) => `${project}==${version}\n`).join('');
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: freeze }));
    return name;
  } finally {
    ssm.destroy();
  }
}

/** The base64 SSH wire form of an ed25519 public key. */
function sshEd25519Blob(key: Buffer): string {
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  return Buffer.concat([field(Buffer.from('ssh-ed25519')), field(key)]).toString('base64');
}

/** A fresh empty temp directory, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-cli-test-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
