import { reasonOf } from '../../../lib/cli/power';
import { StateProgress } from '../../../lib/cli/progress';
import { captureStream } from './support';

describe('state progress', () => {
  test('not a terminal: one line per change, nothing redrawn', () => {
    // GIVEN two machines being stopped, seen by the waiters' polls
    const out = captureStream(false);
    let t = 0;
    const progress = new StateProgress(out, new Map([['i-1', 'alice'], ['i-2', 'bob']]), () => new Date(t * 1000));
    progress.seed('i-1', 'running');
    progress.seed('i-2', 'running');
    progress.start();
    // WHEN the polls report states, some unchanged
    for (const [time, id, state] of [[5, 'i-1', 'stopping'], [5, 'i-2', 'stopping'], [20, 'i-1', 'stopping'], [35, 'i-1', 'stopped'], [95, 'i-2', 'stopped'], [96, 'i-9', 'running']] as const) {
      t = time;
      progress.update(id, state);
    }
    progress.finish();
    // THEN
    expect(out.text()).toBe(
      [
        '  alice (i-1): running -> stopping  [5s]',
        '  bob (i-2): running -> stopping  [5s]',
        '  alice (i-1): stopping -> stopped  [35s]',
        '  bob (i-2): stopping -> stopped  [1m35s]',
        '',
      ].join('\n'),
    );
  });

  test('a terminal gets a status line that is cleared before each new line', () => {
    const out = captureStream(true);
    const progress = new StateProgress(out, new Map([['i-1', 'alice']]), () => new Date(0));
    progress.start();
    progress.update('i-1', 'stopping');
    progress.finish();
    expect(out.text()).toBe('  alice (i-1): stopping  [0s]\n\r\x1b[2K  ... 1 stopping (0s)\r\x1b[2K');
  });
});

describe('failure reasons of the waiters', () => {
  test('timeout and failure states read as sentences', () => {
    expect(reasonOf(Object.assign(new Error('{"state":"TIMEOUT"}'), { name: 'TimeoutError' }), 'stopping', 900)).toBe('timed out after 15 min (still stopping)');
    expect(reasonOf(new Error('{"state":"FAILURE"}'), 'terminated', 900)).toBe('the instance became terminated');
    expect(reasonOf(Object.assign(new Error('The instance is not in a state from which it can be stopped.'), { name: 'IncorrectInstanceState' }), undefined, 60)).toBe(
      'IncorrectInstanceState: The instance is not in a state from which it can be stopped.',
    );
  });
});
