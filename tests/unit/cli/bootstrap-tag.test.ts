import { phasesOf } from '../../../lib/bootstrap/bootstrap-user-data';
import { BOOTSTRAP_TAG, formatReadiness, readinessOf } from '../../../lib/cli/bootstrap-tag';

describe('readiness from the dasklab:bootstrap tag', () => {
  const now = new Date('2026-01-10T10:00:00Z');
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60000);

  test.each([
    ['ready', 'ready'],
    ['bootstrapping', 'bootstrapping'],
    ['failed:pip', 'failed (pip)'],
    ['failed:cluster', 'failed (cluster)'],
    ['failed:trainer-key', 'failed (trainer-key)'],
    ['failed:tls', 'failed (tls)'],
    ['failed:idle', 'failed (idle)'],
    ['failed:complete', 'failed (complete)'],
    ['failed:', 'unknown'],
    ['something-else', 'unknown'],
    // A student with sudo may set the tag on their own machine: only known values are shown.
    ['failed:\u001b[2J\u001b[31mhacked', 'unknown'],
    ['failed:pip; see http://evil.example', 'unknown'],
    ['failed:PIP', 'unknown'],
    ['Ready', 'unknown'],
    ['ready ', 'unknown'],
    ['\u202eydaer', 'unknown'],
    ['x'.repeat(256), 'unknown'],
  ])('tag %s shows as %s', (tag, shown) => {
    // WHEN the machine carries the tag
    // THEN
    expect(formatReadiness(readinessOf(tag, minutesAgo(5), now))).toBe(shown);
  });

  test('no tag: booting while young, unknown after 30 minutes', () => {
    expect(readinessOf(undefined, minutesAgo(2), now)).toEqual({ state: 'booting' });
    expect(readinessOf(undefined, minutesAgo(29), now)).toEqual({ state: 'booting' });
    expect(readinessOf(undefined, minutesAgo(31), now)).toEqual({ state: 'unknown' });
    expect(readinessOf(undefined, undefined, now)).toEqual({ state: 'unknown' });
  });

  test('the contract the bootstrap script uses', () => {
    // The names userdata/bootstrap.sh writes; changing them breaks `status` on deployed machines.
    expect(BOOTSTRAP_TAG).toEqual({
      key: 'dasklab:bootstrap',
      bootstrapping: 'bootstrapping',
      ready: 'ready',
      failedPrefix: 'failed:',
      phases: ['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'tls', 'dask', 'cluster', 'idle', 'complete'],
    });
  });

  test('every phase the bootstrap can run is a known phase', () => {
    // GIVEN the phases of the machine that runs the most of them (a lab scheduler with TLS, a trainer key and idle stop)
    const phases = phasesOf({
      app: 'a', role: 'scheduler', pythonVersion: '3.12', packages: ['dask[complete]'], venv: '/opt/dask/venv',
      trainerPublicKey: 'ssh-ed25519 AAAA', idleStopMinutes: 30,
      dask: { schedulerHost: '10.0.0.10', name: 'scheduler', tls: { parameterPath: '/dasklab/a/cluster/tls' } },
    });
    // THEN a failure in any of them shows as that phase
    for (const phase of phases) expect(formatReadiness(readinessOf(`failed:${phase}`, undefined, now))).toBe(`failed (${phase})`);
  });
});
