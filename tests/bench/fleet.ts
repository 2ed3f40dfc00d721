import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine-properties';
import { CloudAssembly } from './cloud-assembly';

/**
 * The machines an app would run, read from its templates rather than from its
 * config, so the cost is that of what would actually be deployed: each
 * instance's type, its launch template's disks, whether its subnet gives it a
 * public IPv4, and whether it runs on spot capacity.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FleetMachine {
  stack: string;
  logicalId: string;
  instanceType: string;
  /** Sum of the launch template's EBS volume sizes, GiB. */
  diskGiB: number;
  volumeTypes: string[];
  publicIpv4: boolean;
  spot: boolean;
}

/** The resource a value points at: Ref, Fn::GetAtt, or Fn::ImportValue of another stack's export. */
function target(assembly: CloudAssembly, stack: string, value: Json): Json | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const resources = assembly.stacks.get(stack)?.resources ?? {};
  if (typeof value.Ref === 'string') return resources[value.Ref];
  if (Array.isArray(value['Fn::GetAtt'])) return resources[value['Fn::GetAtt'][0]];
  if (typeof value['Fn::ImportValue'] === 'string') {
    const exp = assembly.exports.get(value['Fn::ImportValue']);
    if (exp && exp.resources.length === 1) return assembly.stacks.get(exp.stack)?.resources[exp.resources[0]];
  }
  return undefined;
}

export function fleetOf(assembly: CloudAssembly): FleetMachine[] {
  const machines: FleetMachine[] = [];
  for (const stack of assembly.stacks.values()) {
    for (const [id, r] of Object.entries<Json>(stack.resources)) {
      const spotMachine = r.Type === SPOT_MACHINE_RESOURCE_TYPE;
      if (r.Type !== 'AWS::EC2::Instance' && !spotMachine) continue;
      const p = r.Properties ?? {};
      const lt = target(assembly, stack.name, spotMachine ? p.LaunchTemplateId : p.LaunchTemplate?.LaunchTemplateId)?.Properties?.LaunchTemplateData ?? {};
      const volumes = [...(lt.BlockDeviceMappings ?? []), ...(p.BlockDeviceMappings ?? [])]
        .map((b: Json) => b.Ebs)
        .filter((e: Json) => e && typeof e.VolumeSize === 'number');
      const subnet = target(assembly, stack.name, p.SubnetId);
      const publicByInterface = (lt.NetworkInterfaces ?? []).some((n: Json) => n.AssociatePublicIpAddress === true);
      machines.push({
        stack: stack.name,
        logicalId: id,
        instanceType: typeof p.InstanceType === 'string' ? p.InstanceType : (lt.InstanceType ?? 'unknown'),
        diskGiB: volumes.reduce((t: number, e: Json) => t + e.VolumeSize, 0),
        volumeTypes: [...new Set<string>(volumes.map((e: Json) => e.VolumeType ?? 'gp2'))],
        publicIpv4: publicByInterface || subnet?.Properties?.MapPublicIpOnLaunch === true,
        // A spot machine may fall back to on demand; the bench prices the common case.
        spot: spotMachine || lt.InstanceMarketOptions?.MarketType === 'spot',
      });
    }
  }
  return machines;
}
