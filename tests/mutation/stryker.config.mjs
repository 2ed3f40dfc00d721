// @ts-check
/**
 * StrykerJS over one module of MODULES (env STRYKER_MODULE), with the jest
 * runner on that module's test files, the TypeScript checker, per-test
 * coverage and incremental runs (the incremental file, kept in the git-ignored
 * .stryker-incremental/, holds this machine's paths; a later run on the same
 * checkout re-tests only mutants whose code or tests changed).
 */
import { jestConfigOf, MODULES } from './modules.mjs';

const name = process.env.STRYKER_MODULE ?? 'world-open';
const module = MODULES[name];
if (!module) throw new Error(`unknown module ${name}; expected one of ${Object.keys(MODULES).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: module.mutate,
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    enableFindRelatedTests: false,
    config: jestConfigOf(module),
  },
  concurrency: 1,
  timeoutMS: 120000,
  incremental: true,
  incrementalFile: `.stryker-incremental/${name}.json`,
  // The event recorder writes each mutant's result as it is tested, so a run
  // stopped part-way still shows what it found.
  reporters: ['clear-text', 'progress', 'json', 'event-recorder'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  eventReporter: { baseDir: `reports/mutation/events-${name}` },
  // One temporary directory per module, each left out of the others'
  // sandboxes: Stryker deletes its temporary directory whole at the end of a
  // run, so runs of two modules at once must not share one.
  tempDirName: `.stryker-tmp-${name}`,
  ignorePatterns: ['/.stryker-tmp*', '/cdk.out', '/bench-results', '/.twin'],
  cleanTempDir: true,
};
