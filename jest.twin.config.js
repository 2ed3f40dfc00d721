/** Twin tests: boot synthesized machines in systemd-nspawn containers (root only). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/twin'],
  testMatch: ['**/*.twin.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  testTimeout: 20 * 60 * 1000,
};
