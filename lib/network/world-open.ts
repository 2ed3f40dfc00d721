import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { isWorldOpen } from '../config/schema';
import { acknowledge } from '../nag';

/**
 * Checks an access list before its rules are added to a security group. A
 * world-open CIDR (0.0.0.0/0, ::/0) passes only when the config acknowledged
 * it; then synth warns, naming the group and the port.
 */
export function checkWorldOpen(
  group: ec2.SecurityGroup,
  cidrs: readonly string[],
  options: { field: string; opens: string; acknowledged: boolean },
): void {
  const open = cidrs.filter(isWorldOpen);
  if (open.length === 0) return;
  if (!options.acknowledged) {
    throw new Error(
      `access.${options.field} holds ${open.join(', ')}, which opens ${options.opens} to the whole internet; ` +
        `add "${options.field}" to access.allowWorldOpen if that is intended`,
    );
  }
  Annotations.of(group).addWarningV2(
    'dasklab:world-open',
    `${options.opens} is open to the whole internet (${open.join(', ')}), as access.allowWorldOpen allows for access.${options.field}`,
  );
  acknowledge(group, 'worldOpenAcknowledged');
  acknowledge(group, 'worldOpenSensitivePort');
}
