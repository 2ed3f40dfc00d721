import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine-properties';
import table from './cfn-creation-seconds.json';

/**
 * Typical CloudFormation creation times per resource type (cfn-creation-seconds.json,
 * where each figure's source is stated), and the bootstrap time that stands in
 * for a wait condition.
 */

export const WAIT_CONDITION = 'AWS::CloudFormation::WaitCondition';
export const INSTANCE = 'AWS::EC2::Instance';

/** A machine's resource: an instance, or a spot machine (launched by a custom resource). */
export function isMachine(type: string): boolean {
  return type === INSTANCE || type === SPOT_MACHINE_RESOURCE_TYPE;
}

/** A wait condition's duration: the bootstrap of the machine it waits for, by its dasklab:role. */
export interface BootstrapSeconds {
  /** Seconds per role (standalone, student, scheduler, worker) measured in the twin. */
  measured: Partial<Record<string, number>>;
  /** For roles the twin did not measure. */
  fallback: number;
}

export const STATED_BOOTSTRAP_SECONDS: number = table.types[WAIT_CONDITION].seconds;

/** The stated bootstrap of a machine booted from its app's baked image (cfn-creation-seconds.json, bakedBootstrap). */
export const STATED_BAKED_BOOTSTRAP_SECONDS: number = table.bakedBootstrap.seconds;

const TYPES: Record<string, { seconds: number; source: string }> = table.types;

/** The durations a bench run uses, and which types it did not know. */
export class CreationTimes {
  readonly unknownTypes = new Set<string>();

  constructor(private readonly bootstrap: BootstrapSeconds) {}

  /** Seconds to create a resource of `type`; a wait condition's depends on the role it waits for. */
  secondsOf(type: string, role?: string): number {
    if (type === WAIT_CONDITION) {
      const measured = role !== undefined ? this.bootstrap.measured[role] : undefined;
      return measured ?? this.bootstrap.fallback;
    }
    const known = TYPES[type];
    if (known) return known.seconds;
    this.unknownTypes.add(type);
    return table.defaultSeconds;
  }

  /** The table as the bench used it, for the JSON results. */
  describe(): { defaultSeconds: number; types: Record<string, { seconds: number; source: string }>; bootstrap: BootstrapSeconds } {
    return { defaultSeconds: table.defaultSeconds, types: TYPES, bootstrap: this.bootstrap };
  }
}
