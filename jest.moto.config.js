/**
 * Moto tests: the CLI against a real moto server on loopback (root only; see
 * tests/moto/moto-server.ts). Run with --runInBand: each file starts its own
 * server, and the first run builds moto's Debian tree (about 80 s).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/moto'],
  testMatch: ['**/*.moto.test.ts'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }] },
  testTimeout: 10 * 60 * 1000,
};
