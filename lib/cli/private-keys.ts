/**
 * The private SSH keys of the machines. CloudFormation's AWS::EC2::KeyPair
 * keeps a generated key's private half in SSM Parameter Store at
 * `/ec2/keypair/<KeyPairId>` (SecureString); an imported key (config
 * `access.publicKey`) has no private half in AWS: its owner has it.
 *
 * Key material is returned to the caller only to be written to a 0600 file; it
 * never goes to a log or the terminal.
 */
import { DescribeKeyPairsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { CliError } from './errors';
import { Machine } from './machines';

/** Where the private key of a machine comes from. */
export type PrivateKey =
  /** A key pair CloudFormation generated; `material` is the PEM/OpenSSH text. */
  | { readonly kind: 'generated'; readonly keyName: string; readonly keyPairId: string; readonly material: string }
  /** A key pair made from the user's own public key: the user has the private key. */
  | { readonly kind: 'imported'; readonly keyName: string }
  /** The instance has no key pair: Session Manager only. */
  | { readonly kind: 'none' };

/**
 * Most values EC2 takes in one filter of a Describe call: more fail the call
 * with FilterLimitExceeded ("The request uses too many filters or too many
 * filter values", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 * AWS's pages give no number; 200 is the limit EC2 reports. A lab has up to 800 machines.
 */
export const MAX_FILTER_VALUES = 200;

/** The SSM parameter name of a generated key pair's private key. */
export function keyParameterName(keyPairId: string): string {
  return `/ec2/keypair/${keyPairId}`;
}

/**
 * The private key of every machine, by instance id.
 *
 * @throws CliError when a key pair an instance names no longer exists; AWS errors as they come
 */
export async function privateKeysOf(ec2: EC2Client, ssm: SSMClient, machines: readonly Machine[]): Promise<Map<string, PrivateKey>> {
  const keyNames = [...new Set(machines.map((m) => m.keyName).filter((k): k is string => k !== undefined))];
  const byName = new Map<string, PrivateKey>();
  if (keyNames.length > 0) {
    const keyPairs = [];
    for (let start = 0; start < keyNames.length; start += MAX_FILTER_VALUES) {
      // DescribeKeyPairs has no pagination: it returns every match at once.
      const filter = { Name: 'key-name', Values: keyNames.slice(start, start + MAX_FILTER_VALUES) };
      keyPairs.push(...((await ec2.send(new DescribeKeyPairsCommand({ Filters: [filter] }))).KeyPairs ?? []));
    }
    for (const pair of keyPairs) {
      if (pair.KeyName === undefined || pair.KeyPairId === undefined) continue;
      const material = await parameterValue(ssm, keyParameterName(pair.KeyPairId));
      byName.set(
        pair.KeyName,
        material === undefined
          ? { kind: 'imported', keyName: pair.KeyName }
          : { kind: 'generated', keyName: pair.KeyName, keyPairId: pair.KeyPairId, material: withFinalNewline(material) },
      );
    }
  }
  const result = new Map<string, PrivateKey>();
  for (const machine of machines) {
    if (machine.keyName === undefined) {
      result.set(machine.instanceId, { kind: 'none' });
      continue;
    }
    const key = byName.get(machine.keyName);
    if (key === undefined) {
      throw new CliError(`The key pair "${machine.keyName}" of ${machine.label} (${machine.instanceId}) does not exist any more; connect with: aws ssm start-session --target ${machine.instanceId}`);
    }
    result.set(machine.instanceId, key);
  }
  return result;
}

/** A SecureString parameter's decrypted value, or undefined if there is no such parameter. */
async function parameterValue(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return Parameter?.Value;
  } catch (error) {
    if (error instanceof ParameterNotFound || (error as Error).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

/** OpenSSH refuses a key file whose last line lacks its newline. */
function withFinalNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
