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
  nag: { mutate: ['lib/nag.ts'], tests: ['nag.test.ts', 'guards.test.ts'] },
  'security-groups': { mutate: ['lib/machine/machine-security-group.ts', 'lib/cluster/cluster-security-groups.ts'], tests: ['machine-stack.test.ts', 'cluster-stack.test.ts', 'guards.test.ts', 'world-open.test.ts'] },
  'iam-roles': { mutate: ['lib/machine/instance-role.ts'], tests: ['machine-stack.test.ts', 'cluster-stack.test.ts', 'aws-spec/**/*.test.ts'] },
  roster: { mutate: ['lib/config/roster.ts'], tests: ['roster.test.ts', 'lab-config.test.ts'] },
  config: { mutate: ['lib/config/schema.ts', 'lib/config/lab-schema.ts', 'lib/config/load.ts', 'lib/config/schema-blocks.ts'], tests: ['config.test.ts', 'lab-config.test.ts'] },
  'user-data': { mutate: ['lib/bootstrap/bootstrap-user-data.ts'], tests: ['bootstrap-user-data.test.ts', 'edges.test.ts'] },
  handlers: { mutate: ['lib/handlers/*.ts'], tests: ['guards.test.ts', 'cluster-stack.test.ts'] },
  lab: { mutate: ['lib/lab/lab-stacks.ts'], tests: ['lab-stacks.test.ts', 'guards.test.ts', 'edges.test.ts'] },
};
