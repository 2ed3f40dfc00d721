/**
 * The modules under mutation testing: the code whose mistakes cost most, each
 * with the test files that hold its behaviour. Ordered smallest first; one
 * Stryker run per module keeps each run's dry run to the tests that matter.
 * Pure modules (cidr, roster, config) are held by their direct tests, which
 * run in seconds: the stack tests that also touch them synthesize whole apps
 * and would cost minutes per mutant on this 2-core machine.
 */
export const MODULES = {
  'world-open': { mutate: ['lib/network/world-open.ts'], tests: ['world-open.test.ts', 'guards.test.ts', 'machine-stack.test.ts'] },
  'atomic-dir': { mutate: ['lib/cli/atomic-dir.ts'], tests: ['cli/atomic-dir.test.ts'] },
  cidr: { mutate: ['lib/config/cidr.ts'], tests: ['config.test.ts'] },
  'replacement-check': { mutate: ['lib/replacement-check.ts'], tests: ['replacement-check.test.ts'] },
  nag: { mutate: ['lib/nag.ts'], tests: ['nag-acknowledgements.test.ts', 'nag.test.ts'] },
  'security-groups': { mutate: ['lib/machine/machine-security-group.ts', 'lib/cluster/cluster-security-groups.ts'], tests: ['security-groups.test.ts'] },
  'iam-roles': { mutate: ['lib/machine/instance-role.ts'], tests: ['instance-role.test.ts'] },
  roster: { mutate: ['lib/config/roster.ts'], tests: ['roster.test.ts', 'lab-config.test.ts'] },
  // The loader reads the lock file and the course materials; their config tests run in about a second each.
  config: {
    mutate: ['lib/config/schema.ts', 'lib/config/lab-schema.ts', 'lib/config/load.ts', 'lib/config/schema-blocks.ts'],
    tests: ['config.test.ts', 'lab-config.test.ts', 'config-blocks.test.ts', 'lock-file.test.ts', 'course-materials-config.test.ts'],
  },
  // The renderer's direct tests; edges.test.ts proves the size limit again through synthesized stacks, at a minute a mutant.
  'user-data': { mutate: ['lib/bootstrap/bootstrap-user-data.ts'], tests: ['bootstrap-user-data.test.ts', 'bootstrap-parameters.test.ts', 'user-data-size.test.ts'] },
  // The code that runs in Lambda on Create, Update and Delete, held by direct tests with mocked EC2 and SSM
  // clients. handler-function.ts is left out: it is CDK wiring only (the function's runtime, role and log group),
  // held by cluster-stack.test.ts, which synthesizes whole apps.
  handlers: { mutate: ['lib/handlers/custom-resource.ts', 'lib/handlers/parameter-path.ts', 'lib/handlers/spot-machine.ts'], tests: ['handlers.test.ts'] },
  // Lab sharding and size limits: the weighing (lab-size.ts, held by its direct tests, no CDK app) and, in
  // lab-stacks.ts, a student's stack, the stack names and addLabStacks with the probe that weighs a stack.
  lab: {
    mutate: ['lib/lab/lab-size.ts', 'lib/lab/lab-stacks.ts:44-46', 'lib/lab/lab-stacks.ts:57-59', 'lib/lab/lab-stacks.ts:264-309'],
    tests: ['lab-size.test.ts', 'lab-shards.test.ts'],
  },
};

/** jest's settings for a module's tests under mutation: its test files, transpiled only (type errors are the checker's to find). */
export function jestConfigOf(module) {
  return {
    testMatch: module.tests.map((t) => `<rootDir>/tests/unit/${t}`),
    transform: { '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  };
}
