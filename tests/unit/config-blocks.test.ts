/**
 * The config schema's building blocks (lib/config/schema-blocks.ts) and the
 * messages the schema gives for values of the wrong type, each exactly: what
 * a user reads when a field is wrong. Direct and fast, for mutation testing.
 */
import { expectOneProblem } from './config-errors';
import { defineUnreadGetter, writtenPathProblem } from '../../lib/config/schema-blocks';

describe('writtenPathProblem', () => {
  const EXPECTED = 'expected the path of a folder';

  test.each([
    ['', 'the path is empty'],
    ['   ', 'the path is empty'],
    [' course', 'the path starts or ends with a space'],
    ['course ', 'the path starts or ends with a space'],
    ['course\n', 'the path starts or ends with a space'],
    ['cour\u0000se', 'the path contains a control character'],
    ['cour\u001fse', 'the path contains a control character'],
    ['cour\u007fse', 'the path contains a control character'],
  ])('%j is refused: %s, after what is expected', (p, reason) => {
    expect(writtenPathProblem(EXPECTED, p, 100)).toBe(`${EXPECTED}; ${reason}`);
  });

  test('a path of exactly the longest length is accepted, one character more is refused, naming the length', () => {
    expect(writtenPathProblem(EXPECTED, 'a'.repeat(10), 10)).toBeNull();
    expect(writtenPathProblem(EXPECTED, 'a'.repeat(11), 10)).toBe(`${EXPECTED}; the path is longer than 10 characters`);
  });

  test.each(['course', 'materials/week 1', './a', '../b/c', 'x\u00a0y', 'é'])('%j is accepted', (p) => {
    expect(writtenPathProblem(EXPECTED, p, 100)).toBeNull();
  });
});

describe('defineUnreadGetter', () => {
  test('reading the property throws the message; a spread copy leaves it out; the loader may set it in place', () => {
    // GIVEN an object with an unread getter
    const lab: Record<string, unknown> = { roster: 'students.csv' };
    defineUnreadGetter(lab, 'students', 'lab.students: not read');
    // THEN reading it throws the message
    expect(() => lab.students).toThrow('lab.students: not read');
    // AND a copy made with spread, as the loader makes, has no such property
    expect({ ...lab }).toEqual({ roster: 'students.csv' });
    expect(Object.keys(lab)).toEqual(['roster']);
    // AND the value can be set in place once it is read
    Object.defineProperty(lab, 'students', { value: [{ id: 'a', line: 1 }] });
    expect(lab.students).toEqual([{ id: 'a', line: 1 }]);
  });
});

describe('messages for values of the wrong type', () => {
  test.each([
    ['sshCidrs', 'who may reach SSH port 22'],
    ['dashboardCidrs', 'who may reach the Dask dashboard, port 8787'],
  ])('access.%s that is not a list says what a list of CIDRs is for', (field, purpose) => {
    expect(expectOneProblem({ access: { [field]: '203.0.113.0/24' } }, `access.${field}`)).toBe(
      `access.${field}: "203.0.113.0/24" is not accepted; expected a list of CIDR strings (${purpose})`,
    );
  });

  test('an entry of access.sshCidrs that is not a string gives an example of a CIDR', () => {
    expect(expectOneProblem({ access: { sshCidrs: [24] } }, 'access.sshCidrs[0]')).toBe(
      'access.sshCidrs[0]: 24 is not accepted; expected a CIDR string such as "203.0.113.0/24"',
    );
  });

  test('a section that is not an object lists its fields', () => {
    expect(expectOneProblem({ access: [] }, 'access', 'expected the access settings: an object with the fields ')).toMatch(/sshCidrs, .*dashboardCidrs/);
  });

  test('a boolean written as a string is refused, saying to leave out the quotes', () => {
    expect(expectOneProblem({ cluster: { workers: 2, jupyter: 'true' } }, 'cluster.jupyter')).toBe(
      'cluster.jupyter: "true" is not accepted; expected true or false (without quotes)',
    );
  });

  test('a number out of range or not whole names the range, and why where there is a reason', () => {
    expect(expectOneProblem({ machine: { readyTimeoutMinutes: 721 } }, 'machine.readyTimeoutMinutes')).toBe(
      'machine.readyTimeoutMinutes: 721 is not accepted; expected an integer from 5 to 720 (CloudFormation waits at most 12 hours)',
    );
    expect(expectOneProblem({ machine: { readyTimeoutMinutes: '30' } }, 'machine.readyTimeoutMinutes')).toBe(
      'machine.readyTimeoutMinutes: "30" is not accepted; expected an integer from 5 to 720 (CloudFormation waits at most 12 hours)',
    );
  });
});
