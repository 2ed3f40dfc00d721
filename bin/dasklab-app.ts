#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` (embedded default config) or
 * `npx cdk synth -c config=path/to.json`.
 */
import { App } from 'aws-cdk-lib';
import { addDasklabStacks } from '../lib/app';
import { ConfigError, loadConfig, resolveConfigPath } from '../lib/config';
import { readTemplates, replacementWarning } from '../lib/replacement-check';
import { imageBuildNotice } from '../lib/image/image-build-notice';

function main(): void {
  const app = new App();
  const configPath = resolveConfigPath(app.node.tryGetContext('config'), process.cwd());
  let config;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) {
      // Nothing has been built: report every problem and stop.
      process.stderr.write(`dasklab: invalid config\n${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  addDasklabStacks(app, config);
  // What the previous synth (and so, usually, the last deploy) had, to warn
  // before a deploy that would replace machines.
  const before = readTemplates(app.outdir);
  const assembly = app.synth();
  const after = new Map(assembly.stacks.map((stack) => [stack.stackName, stack.template]));
  for (const message of [imageBuildNotice(before, after), replacementWarning(before, after)]) {
    if (message) process.stderr.write(`${message}\n`);
  }
}

main();
