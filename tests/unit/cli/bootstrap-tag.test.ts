import { BOOTSTRAP_TAG, formatReadiness, readinessOf } from '../../../lib/cli/bootstrap-tag';

describe('readiness from the dasklab:bootstrap tag', () => {
  const now = new Date('2026-01-10T10:00:00Z');
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60000);

  test.each([
    ['ready', 'ready'],
    ['bootstrapping', 'bootstrapping'],
    ['failed:pip', 'failed (pip)'],
    ['failed:cluster', 'failed (cluster)'],
    ['failed:', 'failed (?)'],
    ['something-else', 'unknown'],
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
      phases: ['apt', 'venv', 'pip', 'profile', 'verify', 'dask', 'cluster'],
    });
  });
});
