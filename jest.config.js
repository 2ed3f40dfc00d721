/** Unit tests: offline, no root, no network. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/unit'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  testTimeout: 60000,
  globalSetup: '<rootDir>/tests/support/tmpdir-setup.js',
  globalTeardown: '<rootDir>/tests/support/tmpdir-teardown.js',
};
