import { App } from 'aws-cdk-lib';
import { DasklabConfig } from './config/schema';
import { ClusterStack } from './cluster/cluster-stack';
import { addLabStacks } from './lab/lab-stacks';
import { MachineStack } from './machine/machine-stack';
import { addNagChecks } from './nag';

/** Stack names of the app, per the names contract. */
export function machineStackName(config: DasklabConfig): string {
  return `${config.name}-Machine`;
}

/** `<name>-Cluster`. */
export function clusterStackName(config: DasklabConfig): string {
  return `${config.name}-Cluster`;
}

/**
 * Adds the stacks a config asks for to `app`. Stacks are environment-agnostic:
 * they deploy to the account and region of the caller's AWS profile, and
 * synth needs no AWS credentials and makes no lookups. cdk-nag's AWS
 * Solutions pack checks every stack; an unacknowledged finding fails synth.
 */
export function addDasklabStacks(app: App, config: DasklabConfig): void {
  addNagChecks(app);
  if (config.lab) {
    addLabStacks(app, config, config.lab.students);
  } else if (config.cluster) {
    new ClusterStack(app, clusterStackName(config), { config });
  } else {
    new MachineStack(app, machineStackName(config), { config });
  }
}
