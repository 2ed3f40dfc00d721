import { createHash } from 'crypto';
import { Aws, CfnOutput, Duration, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { DasklabConfig } from '../config/schema';
import { architectureOf } from '../config/instance-types';
import { DaskMachine } from './dask-machine';
import { MachineFleet } from './machine-fleet';
import { PythonLockAsset } from './python-lock-asset';
import type { LockFileLocation } from '../bootstrap/bootstrap-user-data';
import { tagApp } from '../tags';
import { bootstrapNetworkOf } from '../network/bootstrap-network';

/** Properties of {@link MachineStack}. */
export interface MachineStackProps extends StackProps {
  /** The validated config. */
  readonly config: DasklabConfig;
}

/** Canonical's architecture name for an instance type. */
export function ubuntuArchitectureOf(instanceType: string): 'amd64' | 'arm64' {
  return architectureOf(instanceType) === 'arm64' ? 'arm64' : 'amd64';
}

/** The fleet settings every dasklab stack derives from the config the same way. */
export function fleetPropsOf(scope: Construct, config: DasklabConfig) {
  const settings = fleetSettingsOf(config);
  return {
    ...settings,
    bootstrap: { ...settings.bootstrap, lockFile: pythonLockOf(scope, config) },
    keyPair: importedKeyPairOf(scope, config),
  };
}

/** The app's lock file (python.lockFile) as an asset of `scope`'s stack, when the config names one. */
export function pythonLockOf(scope: Construct, config: DasklabConfig): LockFileLocation | undefined {
  const lock = config.python.lock;
  return lock ? new PythonLockAsset(scope, 'PythonLock', { lock }).location : undefined;
}

/**
 * The user's own public key as a key pair in `scope`, when the config brings
 * one. Its name carries a digest of the key: a new key replaces the key pair,
 * and CloudFormation cannot replace a resource that keeps its custom name
 * ("you must specify a new name"):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
 */
export function importedKeyPairOf(scope: Construct, config: DasklabConfig): ec2.IKeyPair | undefined {
  const publicKey = config.access.publicKey;
  if (!publicKey) return undefined;
  const digest = createHash('sha256').update(publicKey).digest('hex').slice(0, 12);
  return new ec2.KeyPair(scope, 'ImportedKeyPair', {
    keyPairName: `${Stack.of(scope).stackName}-own-key-${digest}`,
    publicKeyMaterial: publicKey,
  });
}

/** {@link fleetPropsOf} without the key pair and the lock file's asset. */
export function fleetSettingsOf(config: DasklabConfig) {
  return {
    diskGiB: config.machine.diskGiB,
    ubuntuRelease: config.machine.ubuntu,
    sshCidrs: config.access.sshCidrs,
    sshWorldOpenAcknowledged: config.access.allowWorldOpen.includes('sshCidrs'),
    readyTimeout: Duration.minutes(config.machine.readyTimeoutMinutes),
    bootstrap: {
      app: config.name,
      pythonVersion: config.python.version,
      packages: config.python.packages,
      indexUrl: config.python.indexUrl ?? undefined,
      codeArtifact: config.python.codeArtifact ?? undefined,
      venv: config.python.venv,
      network: config.network ? bootstrapNetworkOf(config.network) : undefined,
    },
    existingNetwork: config.network,
    // JupyterLab's packages go into the image when any machine of the app runs it.
    image: config.machine.bake ? { jupyter: config.lab?.jupyter ?? config.cluster?.jupyter ?? false } : undefined,
  };
}

/**
 * Commands to reach a machine, as stack outputs. SSH goes directly when the
 * config opens port 22, and through a Session Manager tunnel otherwise.
 */
export function addConnectionOutputs(
  scope: Construct,
  machine: DaskMachine,
  options: { keyFile: string; directSsh: boolean; prefix?: string },
): void {
  const prefix = options.prefix ?? '';
  const region = Aws.REGION;
  new CfnOutput(scope, `${prefix}InstanceId`, { value: machine.instanceId, description: 'EC2 instance id' });
  if (machine.hasPublicIp) {
    new CfnOutput(scope, `${prefix}PublicIp`, { value: machine.publicIp, description: 'Public IPv4 address' });
    new CfnOutput(scope, `${prefix}PublicDnsName`, { value: machine.publicDnsName, description: 'Public DNS name' });
  } else {
    // CloudFormation fails to read PublicIp of an instance that has none.
    new CfnOutput(scope, `${prefix}PrivateIp`, { value: machine.privateIp, description: 'Private IPv4 address (the machine has no public one)' });
  }
  if (machine.privateKeyParameterName) {
    new CfnOutput(scope, `${prefix}PrivateKeyCommand`, {
      description: 'Saves the private SSH key (kept in SSM Parameter Store) to a file',
      value: Fn.join('', [
        `aws ssm get-parameter --region ${region} --name ${machine.privateKeyParameterName}`,
        ` --with-decryption --query Parameter.Value --output text > ${options.keyFile}`,
        ` && chmod 600 ${options.keyFile}`,
      ]),
    });
  }
  const target = options.directSsh ? `ubuntu@${machine.hasPublicIp ? machine.publicIp : machine.privateIp}` : `ubuntu@${machine.instanceId}`;
  const proxy = options.directSsh
    ? ''
    : ` -o ProxyCommand='aws ssm start-session --region ${region} --target %h` +
      ` --document-name AWS-StartSSHSession --parameters portNumber=%p'`;
  new CfnOutput(scope, `${prefix}SshCommand`, {
    description: options.directSsh ? 'SSH to the machine' : 'SSH to the machine through Session Manager (port 22 is closed)',
    value: Fn.join('', [`ssh -i ${options.keyFile}${proxy} `, target]),
  });
  new CfnOutput(scope, `${prefix}SsmSessionCommand`, {
    description: 'A shell on the machine through Session Manager',
    value: Fn.join('', [`aws ssm start-session --region ${region} --target `, machine.instanceId]),
  });
}

/** `<name>-Machine`: one standalone machine with Python and Dask ready. */
export class MachineStack extends Stack {
  public readonly machine: DaskMachine;
  public readonly fleet: MachineFleet;

  constructor(scope: Construct, id: string, props: MachineStackProps) {
    super(scope, id, {
      description: `dasklab ${props.config.name}: one Ubuntu machine with Python, numpy and dask ready`,
      ...props,
    });
    const { config } = props;
    tagApp(this, config.name);
    this.fleet = new MachineFleet(this, 'Fleet', fleetPropsOf(this, config));
    this.machine = this.fleet.addMachine(this, 'Machine', {
      role: 'standalone',
      instanceType: config.machine.instanceType,
      architecture: ubuntuArchitectureOf(config.machine.instanceType),
      name: `${config.name}-machine`,
    });
    addConnectionOutputs(this, this.machine, {
      keyFile: `${config.name}-machine.pem`,
      directSsh: config.access.sshCidrs.length > 0,
    });
  }
}
