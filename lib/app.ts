import { App } from 'aws-cdk-lib';
import { DasklabConfig } from './config/schema';
import { MachineStack } from './machine-stack';

/** Stack names of the app, per the names contract. */
export function machineStackName(config: DasklabConfig): string {
  return `${config.name}-Machine`;
}

/**
 * Adds the stacks a config asks for to `app`. Stacks are environment-agnostic:
 * they deploy to the account and region of the caller's AWS profile, and
 * synth needs no AWS credentials and makes no lookups.
 */
export function addDasklabStacks(app: App, config: DasklabConfig): void {
  new MachineStack(app, machineStackName(config), { config });
}
