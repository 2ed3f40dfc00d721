/**
 * The contract between the SpotMachine construct, which writes the custom
 * resource, and its Lambda, which reads it. Free of imports, so that synth
 * and the Lambda bundle load only what they need.
 */

/** The custom resource type; the twin and the replacement check know it too. */
export const SPOT_MACHINE_RESOURCE_TYPE = 'Custom::DasklabSpotMachine';

/** One EC2 tag. */
export interface SpotMachineTag {
  readonly Key: string;
  readonly Value: string;
}

/** The resource's properties. */
export interface SpotMachineProperties {
  readonly LaunchTemplateId: string;
  readonly LaunchTemplateVersion: string;
  readonly InstanceType: string;
  readonly SubnetId: string;
  readonly SecurityGroupIds: readonly string[];
  readonly KeyName: string;
  /** Base64, as EC2 takes it. */
  readonly UserData: string;
  /** "true" or "false" (CloudFormation passes a custom resource's values as strings); absent: as the subnet maps on launch. */
  readonly AssociatePublicIpAddress?: 'true' | 'false';
  readonly Tags?: readonly SpotMachineTag[];
}

/**
 * Properties whose change the launcher makes to the running machine (it
 * retags it); a change to any other launches a new machine in its place.
 */
export const IN_PLACE_SPOT_MACHINE_PROPERTIES: readonly string[] = ['ServiceToken', 'Tags'];
