import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { WORLD_OPEN_LINE_TEXT, worldOpenExtent } from '../config/schema';
import { acknowledge } from '../nag';

/**
 * Checks an access list before its rules are added to a security group. A
 * list whose blocks together open more than the line (a /8 of IPv4, a /32 of
 * IPv6; see `WORLD_OPEN_LINE`) passes only when the config acknowledged it;
 * then synth warns, naming the group, the port and the extent.
 */
export function checkWorldOpen(
  group: ec2.SecurityGroup,
  cidrs: readonly string[],
  options: { field: string; opens: string; acknowledged: boolean },
): void {
  const extent = worldOpenExtent(cidrs);
  if (extent === null) return;
  if (!options.acknowledged) {
    throw new Error(
      `access.${options.field} (${cidrs.join(', ')}) opens ${options.opens} to ${extent}, more than ${WORLD_OPEN_LINE_TEXT}; ` +
        `add "${options.field}" to access.allowWorldOpen if that is intended`,
    );
  }
  Annotations.of(group).addWarningV2(
    'dasklab:world-open',
    `${options.opens} is open to ${extent} (${cidrs.join(', ')}), as access.allowWorldOpen allows for access.${options.field}`,
  );
  acknowledge(group, 'worldOpenAcknowledged');
  acknowledge(group, 'worldOpenSensitivePort');
}
