/**
 * Unit tests of the lab roster (lib/config/roster.ts): what a roster file may
 * look like (the tolerated forms), one test per class of rejected roster, each
 * asserting the message names the line and says what is accepted, and the
 * inline list.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ConfigError,
  loadRoster,
  MAX_STUDENTS,
  parseRosterCsv,
  Student,
  studentIdProblem,
  validateStudentIds,
} from '../../lib/config';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'rosters');

/** The ConfigError `fn` throws; fails the test if it throws none. */
function rosterErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The problem lines of loading the fixture `name`. */
function problemsOf(name: string): string[] {
  return rosterErrorOf(() => loadRoster(name, FIXTURES)).problems;
}

/** A scratch directory, removed after each test. */
let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-roster-'));
});
afterEach(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Writes a roster file of `count` students s1..sN to the scratch directory; returns its name. */
function rosterOf(count: number): string {
  const lines = ['id,name', ...Array.from({ length: count }, (_, i) => `s${i + 1},Student ${i + 1}`)];
  fs.writeFileSync(path.join(scratch, 'big.csv'), `${lines.join('\n')}\n`);
  return 'big.csv';
}

const ID_RULE = 'expected a student id of 1 to 32 lower-case letters, digits and single hyphens, starting with a letter and ending with a letter or digit';

describe('accepted rosters', () => {
  test('a plain roster file gives its students with their lines', () => {
    // GIVEN a roster with id, name and email columns, one e-mail cell empty
    // WHEN it is loaded
    const students = loadRoster('class.csv', FIXTURES);
    // THEN each student has its id, name, e-mail (if any) and line number
    expect(students).toEqual([
      { id: 'alice', name: 'Alice Liddell', email: 'alice@example.org', line: 2 },
      { id: 'bob', name: 'Doe, Bob', email: 'bob@example.org', line: 3 },
      { id: 'carol-2', name: 'Carol', line: 4 },
    ]);
  });

  test('a spreadsheet export with BOM, CRLF, blank lines, spaces and quoted cells is read', () => {
    // GIVEN a file saved by a spreadsheet: UTF-8 BOM, CRLF line ends, blank and ",," lines,
    // spaces around cells and in the header, quoted cells with a comma and with "" escapes
    const bytes = fs.readFileSync(path.join(FIXTURES, 'excel-export.csv'));
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(bytes.toString('utf8')).toContain('\r\n');
    // WHEN it is loaded
    const students = loadRoster('excel-export.csv', FIXTURES);
    // THEN the cells are trimmed and unquoted, blank lines skipped, and lines counted as in the file
    expect(students).toEqual([
      { id: 'alice', name: 'Liddell, Alice', email: 'alice@example.org', line: 3 },
      { id: 'bob', name: 'Bob "the builder" Doe', line: 5 },
      { id: 'carol', name: 'Carol', line: 7 },
    ]);
  });

  test('a quoted cell may span lines, and later line numbers stay right', () => {
    // GIVEN a quoted name with a line break in the middle of the file
    // WHEN the text is parsed THEN the parser follows RFC 4180
    expect(() => parseRosterCsv('id,name\nalice,"Alice\nLiddell"\nbob,Bob\n', 'x.csv')).toThrow(/line 2\): "Alice\\nLiddell" is not accepted; expected a display name such as "Jane Doe" on one line/);
    // AND a CR-only file (old Mac export) is read with its line numbers
    expect(parseRosterCsv('id\ralice\r\rbob', 'x.csv')).toEqual([{ id: 'alice', line: 2 }, { id: 'bob', line: 4 }]);
  });

  test('an inline list gives students numbered by entry', () => {
    // GIVEN an inline list of ids WHEN loaded THEN line = index + 1, no name or e-mail
    expect(loadRoster(['alice', 'bob'], '/nowhere')).toEqual([{ id: 'alice', line: 1 }, { id: 'bob', line: 2 }]);
  });

  test(`${MAX_STUDENTS} students are accepted`, () => {
    // GIVEN a roster file of exactly the maximum WHEN loaded THEN every student is there
    const students = loadRoster(rosterOf(MAX_STUDENTS), scratch);
    expect(students).toHaveLength(MAX_STUDENTS);
    expect(students[MAX_STUDENTS - 1]).toEqual({ id: `s${MAX_STUDENTS}`, name: `Student ${MAX_STUDENTS}`, line: MAX_STUDENTS + 1 });
    // AND an inline list of the maximum too
    expect(loadRoster(Array.from({ length: MAX_STUDENTS }, (_, i) => `s${i}`), scratch)).toHaveLength(MAX_STUDENTS);
  });

  test('ids of 1 and 32 characters with digits and single hyphens are accepted', () => {
    // GIVEN the shortest and longest ids WHEN checked THEN no problem
    for (const id of ['a', 'a1', 'jane-doe-2', `a${'-b'.repeat(15)}c`]) {
      expect(studentIdProblem(id)).toBeNull();
    }
    expect(`a${'-b'.repeat(15)}c`).toHaveLength(32);
  });
});

describe('rejected rosters', () => {
  test('duplicate ids are rejected, each naming the line of the first', () => {
    // GIVEN alice and bob listed twice WHEN loaded THEN both repeats are named with both lines
    expect(problemsOf('duplicates.csv')).toEqual([
      'lab.roster (duplicates.csv line 5): "alice" is not accepted; expected each student once; "alice" is already on line 2',
      'lab.roster (duplicates.csv line 6): "bob" is not accepted; expected each student once; "bob" is already on line 3',
    ]);
  });

  test('ids that differ only in case are duplicates, and the upper-case one is rejected too', () => {
    // GIVEN "Bob" on line 3 and "bob" on line 4 WHEN loaded
    const problems = problemsOf('case-duplicates.csv');
    // THEN "Bob" is rejected with the id to write instead, and "bob" as a duplicate of line 3
    expect(problems).toEqual([
      `lab.roster (case-duplicates.csv line 3): "Bob" is not accepted; ${ID_RULE} (it becomes part of resource names, tags and SSM paths); ids are case-sensitive names: write "bob"`,
      'lab.roster (case-duplicates.csv line 4): "bob" is not accepted; expected each student once; line 3 has "Bob", the same id apart from case',
    ]);
  });

  test('an empty id is rejected with its line', () => {
    // GIVEN two rows with a name but no id (one with spaces only) WHEN loaded THEN both lines are named
    const problems = problemsOf('empty-id.csv');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^lab\.roster \(empty-id\.csv line 3\): "" is not accepted; expected a student id .*; the id is empty$/);
    expect(problems[1]).toMatch(/^lab\.roster \(empty-id\.csv line 4\): "" is not accepted; .*the id is empty$/);
  });

  test('malformed ids are rejected, each with its line and reason, all at once', () => {
    // GIVEN a file of eight malformed ids WHEN loaded
    const problems = problemsOf('malformed-ids.csv');
    // THEN each is one problem on its own line, with the rule and the specific reason
    const expected: Array<[number, string, string]> = [
      [2, 'Alice', 'ids are case-sensitive names: write "alice"'],
      [3, '1st-student', 'it starts with "1"'],
      [4, 'jane_doe', '"_" is not allowed'],
      [5, 'jane.doe@example.org', '"." and "@" are not allowed (an id is a name, not an e-mail address)'],
      [6, 'x--y', 'it contains "--"'],
      [7, 'trailing-', 'it ends with "-"'],
      [8, 'this-id-is-far-too-long-to-be-used-as-a-name', 'it has 44 characters'],
      [9, 'hello world', 'a space is not allowed'],
    ];
    expect(problems).toHaveLength(expected.length);
    expected.forEach(([line, id, reason], i) => {
      expect(problems[i]).toBe(`lab.roster (malformed-ids.csv line ${line}): ${JSON.stringify(id)} is not accepted; ${ID_RULE} (it becomes part of resource names, tags and SSM paths); ${reason}`);
    });
  });

  test('unknown columns are rejected, naming them and the accepted columns', () => {
    // GIVEN a header "id,Name,phone" WHEN loaded
    // THEN "Name" gets a suggestion, "phone" none, and both list the accepted columns
    expect(problemsOf('unknown-columns.csv')).toEqual([
      'lab.roster (unknown-columns.csv line 1): "Name" is not accepted; unknown column (did you mean "name"?); expected the columns id, name, email (only id is required)',
      'lab.roster (unknown-columns.csv line 1): "phone" is not accepted; unknown column; expected the columns id, name, email (only id is required)',
    ]);
  });

  test('a file without a header line is rejected, saying the first line is read as the header', () => {
    // GIVEN a file that starts with a student WHEN loaded THEN the header is asked for
    expect(problemsOf('no-header.csv')).toEqual([
      'lab.roster (no-header.csv line 1): the first line (not shown: the file may not be a roster) is not accepted; expected a header line naming the columns, "id" (required), "name" and "email", e.g. "id,name,email"; the first line is read as the header',
    ]);
  });

  test('a header without an id column is rejected', () => {
    // GIVEN a header "name,email" WHEN loaded THEN the id column is asked for
    expect(problemsOf('no-id-column.csv')).toEqual([
      'lab.roster (no-id-column.csv line 1): "name,email" is not accepted; expected an "id" column in the header line, e.g. "id,name,email"',
    ]);
  });

  test('a semicolon-separated file is rejected, naming the separator', () => {
    // GIVEN a European spreadsheet export with ";" WHEN parsed THEN the separator is named
    expect(() => parseRosterCsv('id;name\nalice;Alice\n', 'class.csv')).toThrow(/line 1\): the first line \(not shown: the file may not be a roster\) is not accepted; .*seems to use ";" between cells: save the file as comma-separated CSV/);
  });

  test('a missing roster file is rejected, naming the path it was looked for at', () => {
    // GIVEN a roster path with no file WHEN loaded THEN the absolute path and the base directory rule are named
    const error = rosterErrorOf(() => loadRoster('students.csv', scratch));
    expect(error.problems).toEqual([
      `lab.roster: "students.csv" is not accepted; expected a CSV roster file; file not found: ${path.join(scratch, 'students.csv')} (a relative path is read from the config file's directory)`,
    ]);
    // AND the error's heading names the file
    expect(error.message.split('\n')[0]).toBe(`Cannot read lab roster ${path.join(scratch, 'students.csv')}:`);
    // AND a bare id, meant as an inline roster, gets a hint
    expect(() => loadRoster('alice', scratch)).toThrow(/for an inline roster write a list: \["alice"\]/);
    // AND a directory is not a roster
    expect(() => loadRoster('.', scratch)).toThrow(/expected a CSV roster file; .* is a directory/);
  });

  test(`more than ${MAX_STUDENTS} students are rejected, saying the limit`, () => {
    // GIVEN a roster file of 501 students WHEN loaded THEN the limit and the way out are named
    expect(rosterErrorOf(() => loadRoster(rosterOf(MAX_STUDENTS + 1), scratch)).problems).toEqual([
      `lab.roster (big.csv): the roster of ${MAX_STUDENTS + 1} students is not accepted; expected at most ${MAX_STUDENTS} students in one lab; split the class into several configs, each with its own name`,
    ]);
  });

  test('an empty file and a header without students are rejected', () => {
    // GIVEN an empty file WHEN parsed THEN the expected form is named
    expect(() => parseRosterCsv('', 'class.csv')).toThrow('lab.roster (class.csv): an empty file is not accepted; expected a header line such as "id,name,email", then one student per line');
    // AND a BOM and blank lines alone are empty too
    expect(() => parseRosterCsv('\ufeff\r\n\r\n', 'class.csv')).toThrow(/an empty file is not accepted/);
    // AND a header without students is rejected when loaded
    expect(problemsOf('header-only.csv')).toEqual(['lab.roster (header-only.csv): a roster without students is not accepted; expected 1 to 500 students']);
  });

  test('malformed quoting and surplus cells are rejected with their lines', () => {
    // GIVEN text after a closing quote, and a name with an unquoted comma
    expect(() => parseRosterCsv('id,name\nalice,"Doe" Jane\n', 'x.csv')).toThrow(/line 2\): "\\"Doe\\" Jane" is not accepted; expected "," or the end of the line after a closing quote/);
    expect(() => parseRosterCsv('id,name\nbob,Doe, Bob\n', 'x.csv')).toThrow('lab.roster (x.csv line 2): "bob,Doe, Bob" is not accepted; expected at most 2 cells (id, name), as in the header line; quote a cell that contains a comma, e.g. "Doe, Jane"');
    // AND an unclosed quote names the line it opens on
    expect(() => parseRosterCsv('id,name\nalice,Alice\nbob,"Doe, Bob\ncarol,Carol\n', 'x.csv')).toThrow(/line 3\): "\\"Doe, Bob" is not accepted; expected a closing " for the quoted cell/);
    // AND trailing empty cells (",,") are not surplus
    expect(parseRosterCsv('id,name,\nalice,Alice,,\n', 'x.csv')).toEqual([{ id: 'alice', name: 'Alice', line: 2 }]);
  });

  test('a malformed e-mail cell is rejected', () => {
    // GIVEN a name in the email column WHEN parsed THEN an e-mail address is asked for
    expect(() => parseRosterCsv('id,email\nalice,Alice Liddell\n', 'x.csv')).toThrow('lab.roster (x.csv line 2): "Alice Liddell" is not accepted; expected an e-mail address such as "jane@example.org" in the email column, or an empty cell');
  });

  test('a file that is not UTF-8 is rejected', () => {
    // GIVEN a Latin-1 and a UTF-16 export WHEN loaded THEN "CSV UTF-8" is asked for
    fs.writeFileSync(path.join(scratch, 'latin1.csv'), Buffer.from('id,name\nalice,J\xfcrgen\n', 'latin1'));
    expect(() => loadRoster('latin1.csv', scratch)).toThrow(/bytes that are not UTF-8 \(save it as "CSV UTF-8"\)/);
    fs.writeFileSync(path.join(scratch, 'utf16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id\nalice\n', 'utf16le')]));
    expect(() => loadRoster('utf16.csv', scratch)).toThrow(/is UTF-16 text: save it as "CSV UTF-8"/);
  });

  test('every problem of a file is reported at once: header, rows and ids', () => {
    // GIVEN an unknown column, a malformed id, a surplus cell and a duplicate
    fs.writeFileSync(path.join(scratch, 'mixed.csv'), 'id,name,phone\nAlice,A,1\nbob,B,2,3\nbob,B,2\n');
    // WHEN loaded
    const error = rosterErrorOf(() => loadRoster('mixed.csv', scratch));
    // THEN each is one line, and the heading counts them
    expect(error.problems.map((p) => p.replace(/ is not accepted.*/, ''))).toEqual([
      'lab.roster (mixed.csv line 1): "phone"',
      'lab.roster (mixed.csv line 3): "bob,B,2,3"',
      'lab.roster (mixed.csv line 2): "Alice"',
      'lab.roster (mixed.csv line 4): "bob"',
    ]);
    expect(error.message.split('\n')[0]).toBe(`Invalid lab roster ${path.join(scratch, 'mixed.csv')} (4 problems):`);
  });

  test('an inline list is checked by the same rules, with entry numbers', () => {
    // GIVEN an inline list with an upper-case id and a case-folded duplicate WHEN loaded
    const error = rosterErrorOf(() => loadRoster(['Alice', 'alice', ''], '/nowhere'));
    // THEN the entries are named as lab.roster[i]
    expect(error.problems).toHaveLength(3);
    expect(error.problems[0]).toMatch(/^lab\.roster\[0\]: "Alice" is not accepted; .*write "alice"$/);
    expect(error.problems[1]).toBe('lab.roster[1]: "alice" is not accepted; expected each student once; entry [0] has "Alice", the same id apart from case');
    expect(error.problems[2]).toMatch(/^lab\.roster\[2\]: "" is not accepted; .*the id is empty$/);
    // AND an inline list over the limit is rejected
    expect(() => loadRoster(Array.from({ length: MAX_STUDENTS + 1 }, (_, i) => `s${i}`), '/nowhere')).toThrow(`lab.roster: the roster of ${MAX_STUDENTS + 1} students is not accepted`);
  });
});

describe('duplicates', () => {
  test('an exact duplicate in an inline list names the entry that has it', () => {
    expect(rosterErrorOf(() => loadRoster(['alice', 'bob', 'alice'], '/nowhere')).problems).toEqual([
      'lab.roster[2]: "alice" is not accepted; expected each student once; "alice" is already entry [0]',
    ]);
  });

  test('case is compared as lower case: "ß" is not "ss" nor "ı" "i", though upper case would make them so', () => {
    // GIVEN ids that String.toUpperCase folds together with an accepted id ("ß" → "SS", "ı" → "I")
    const problems = rosterErrorOf(() => loadRoster(['ss', 'ß', 'i', 'ı'], '/nowhere')).problems;
    // THEN each is refused for its character only, not also as a duplicate
    expect(problems.map((line) => line.split(': ')[0])).toEqual(['lab.roster[1]', 'lab.roster[3]']);
    expect(problems.every((line) => !line.includes('expected each student once'))).toBe(true);
  });
});

describe('parseRosterCsv and validateStudentIds', () => {
  test('parsing reads the form only; the ids are checked separately', () => {
    // GIVEN a well-formed file with a malformed id
    const students: Student[] = parseRosterCsv('id\nAlice\n', 'class.csv');
    // WHEN parsed THEN the student is returned as written
    expect(students).toEqual([{ id: 'Alice', line: 2 }]);
    // AND checking the ids rejects it, naming the file and line
    expect(() => validateStudentIds(students, { file: 'class.csv' })).toThrow(/^Invalid lab roster class\.csv \(1 problem\):\n {2}lab\.roster \(class\.csv line 2\): "Alice" is not accepted/);
    // AND valid ids pass through unchanged
    expect(validateStudentIds([{ id: 'alice', line: 2 }], { file: 'class.csv' })).toEqual([{ id: 'alice', line: 2 }]);
  });
});

describe('a file that is not a roster is not echoed', () => {
  /** Writes `content` to the scratch directory and returns the problem lines of loading it. */
  function problemsOfContent(name: string, content: string | Buffer): { message: string; problems: string[] } {
    fs.writeFileSync(path.join(scratch, name), content);
    const error = rosterErrorOf(() => loadRoster(name, scratch));
    return { message: error.message, problems: error.problems };
  }

  test('a shadow-like file: the message names the file and line 1, and shows none of its content', () => {
    // GIVEN lab.roster pointing at a file of password hashes
    const shadow = 'root:$y$j9T$SALTSALTSALT$HASHHASHHASHHASHHASH:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\n';
    // WHEN loaded
    const { message, problems } = problemsOfContent('shadow', shadow);
    // THEN the file and the line are named, and nothing of the content is shown
    expect(problems).toEqual([
      'lab.roster (shadow line 1): the first line (not shown: the file may not be a roster) is not accepted; expected a header line naming the columns, "id" (required), "name" and "email", e.g. "id,name,email"; the first line is read as the header',
    ]);
    expect(message).toContain(path.join(scratch, 'shadow'));
    for (const secret of ['root', 'SALT', 'HASH', 'daemon', '$y$']) expect(message).not.toContain(secret);
  });

  test('a binary file is refused without showing its bytes', () => {
    // GIVEN a file with NUL bytes and a terminal escape (valid UTF-8)
    const { message, problems } = problemsOfContent('data.bin', Buffer.from('id\nELF\u0000\u0000\u001b[2Jsecret-bytes\n', 'utf8'));
    // THEN it is named as not a text file, without its content
    expect(problems).toEqual([
      `lab.roster: "data.bin" is not accepted; expected a text CSV roster file; ${path.join(scratch, 'data.bin')} holds control characters (is it a binary file?)`,
    ]);
    expect(message).not.toContain('secret-bytes');
    expect(message).not.toContain('\u001b');
  });

  test('values from a roster are shown short and with invisible characters replaced', () => {
    // GIVEN a roster whose bad cells are long, or carry C1 control and bidi override characters
    const long = `a${'b'.repeat(200)}`;
    const { message, problems } = problemsOfContent('class.csv', `id,name\n${long},Long\nevil\u009b2J\u202e,x\n`);
    // THEN each excerpt is at most 48 characters of the value, and no invisible character reaches the terminal
    expect(problems[0]).toMatch(/^lab\.roster \(class\.csv line 2\): "ab{47}\.\.\." is not accepted; /);
    expect(problems[1]).toMatch(/^lab\.roster \(class\.csv line 3\): "evil\?2J\?" is not accepted; /);
    expect(message).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
  });

  test('a roster with many bad lines reports the first 20 and counts the rest', () => {
    // GIVEN 300 rows of lines that are not ids
    const rows = Array.from({ length: 300 }, (_, i) => `Not An Id ${i}`);
    const { problems } = problemsOfContent('many.csv', `id\n${rows.join('\n')}\n`);
    // THEN 20 problems are listed and a last line counts the others
    expect(problems).toHaveLength(21);
    expect(problems[19]).toMatch(/^lab\.roster \(many\.csv line 21\): /);
    expect(problems[20]).toBe('lab.roster (many.csv): 280 more problems are not shown; fix the ones above first');
  });
});

describe('a roster path that is not a regular file', () => {
  test.each([['/dev/zero'], ['/dev/urandom'], ['/dev/null']])('%s is refused at once, without reading it', (device) => {
    // GIVEN lab.roster naming a device that never ends (or is empty by nature)
    const started = Date.now();
    const error = rosterErrorOf(() => loadRoster(device, scratch));
    // THEN it is refused as not a regular file, quickly
    expect(error.problems).toEqual([`lab.roster: ${JSON.stringify(device)} is not accepted; expected a CSV roster file; ${device} is not a regular file (a device, pipe or socket)`]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a named pipe is refused without opening it (which would wait for a writer)', () => {
    const fifo = path.join(scratch, 'roster.csv');
    require('child_process').execFileSync('mkfifo', [fifo]);
    expect(() => loadRoster('roster.csv', scratch)).toThrow('is not a regular file (a device, pipe or socket)');
  });
});

describe('the reasons an id is refused', () => {
  test('upper-case letters are named beside the other reasons when lower-casing alone would not do', () => {
    // GIVEN an id with upper-case letters and an underscore WHEN checked
    // THEN both reasons are named, not the "write ..." hint (lower-casing does not make it an id)
    expect(studentIdProblem('Jane_Doe')).toBe(`${ID_RULE} (it becomes part of resource names, tags and SSM paths); it has upper-case letters; "_" is not allowed`);
  });

  test('an id of exactly 32 characters is not called too long', () => {
    // GIVEN a 32-character id refused for an underscore WHEN checked THEN its length is not a reason
    const id = `a_${'b'.repeat(30)}`;
    expect(id).toHaveLength(32);
    expect(studentIdProblem(id)).toBe(`${ID_RULE} (it becomes part of resource names, tags and SSM paths); "_" is not allowed`);
    // AND at 33 characters it is
    expect(studentIdProblem(`${id}b`)).toMatch(/; it has 33 characters; "_" is not allowed$/);
  });

  test('control and invisible characters are named by code point, never written raw', () => {
    // GIVEN inline ids with a tab, a C1 control and a right-to-left override WHEN checked
    // THEN each is named as U+XXXX (four upper-case hex digits)
    expect(studentIdProblem('a\tb')).toMatch(/; U\+0009 is not allowed$/);
    expect(studentIdProblem('a\u009bb')).toMatch(/; U\+009B is not allowed$/);
    expect(studentIdProblem('a\u202eb')).toMatch(/; U\+202E is not allowed$/);
  });

  test('the disallowed characters are listed up to eight, the rest counted', () => {
    // GIVEN ids with three and with eleven different disallowed characters WHEN checked
    // THEN three are listed "x, y and z"; of eleven, eight are listed and three counted
    expect(studentIdProblem('a.b_c+d')).toMatch(/; "\.", "_" and "\+" are not allowed$/);
    expect(studentIdProblem('a!"#$%&\'()*+')).toMatch(/; "!", "\\"", "#", "\$", "%", "&", "'", "\(" and 3 others are not allowed$/);
    // AND exactly eight are all listed, with none counted
    expect(studentIdProblem('a!#$%&()*')).toMatch(/; "!", "#", "\$", "%", "&", "\(", "\)" and "\*" are not allowed$/);
  });
});

describe('the header line', () => {
  test.each([
    ['student', 'id'], ['student-id', 'id'], ['student_id', 'id'], ['studentid', 'id'], ['user', 'id'], ['username', 'id'], ['login', 'id'], ['ID', 'id'],
    ['full name', 'name'], ['fullname', 'name'], ['display name', 'name'], ['Name', 'name'],
    ['e-mail', 'email'], ['mail', 'email'], ['email address', 'email'], ['e-mail address', 'email'], ['E-Mail', 'email'],
  ])('a column headed "%s" is refused with the suggestion "%s"', (written, column) => {
    // GIVEN a header naming a column the way people often do WHEN parsed
    const header = column === 'id' ? `${written},name` : `id,${written}`;
    const error = rosterErrorOf(() => parseRosterCsv(`${header}\nalice,x\n`, 'x.csv'));
    // THEN that column, and only it, is refused, with the column it likely means
    expect(error.problems).toEqual([
      `lab.roster (x.csv line 1): ${JSON.stringify(written)} is not accepted; unknown column (did you mean "${column}"?); expected the columns id, name, email (only id is required)`,
    ]);
  });

  test('a column named twice is refused, naming the first', () => {
    expect(rosterErrorOf(() => parseRosterCsv('id,name,id\nalice,A,b\n', 'x.csv')).problems).toEqual([
      'lab.roster (x.csv line 1): "id" is not accepted; expected each column once; "id" is already column 1',
    ]);
  });

  test('an empty header cell between columns is refused, naming its column', () => {
    expect(rosterErrorOf(() => parseRosterCsv('id,,name\nalice,,A\n', 'x.csv')).problems).toEqual([
      'lab.roster (x.csv line 1): "" is not accepted; expected a column name in column 2; expected the columns id, name, email (only id is required)',
    ]);
  });

  test('a tab- or pipe-separated file is refused, naming the separator; a header of several cells gets no such hint', () => {
    expect(() => parseRosterCsv('id\tname\nalice\tAlice\n', 'x.csv')).toThrow(/the line seems to use "\\t" between cells: save the file as comma-separated CSV$/);
    expect(() => parseRosterCsv('id|name\nalice|Alice\n', 'x.csv')).toThrow(/the line seems to use "\|" between cells/);
    // GIVEN a header of two cells, neither a column, one with a ";" WHEN parsed THEN no separator is guessed
    expect(rosterErrorOf(() => parseRosterCsv('foo;bar,baz\n', 'x.csv')).problems).toEqual([
      'lab.roster (x.csv line 1): the first line (not shown: the file may not be a roster) is not accepted; expected a header line naming the columns, "id" (required), "name" and "email", e.g. "id,name,email"; the first line is read as the header',
    ]);
  });

  test('an unclosed quote in the header is the only problem, not also an empty file', () => {
    expect(rosterErrorOf(() => parseRosterCsv('"id,name\nalice\n', 'x.csv')).problems).toEqual([
      'lab.roster (x.csv line 1): "\\"id,name" is not accepted; expected a closing " for the quoted cell that starts on this line (inside quotes, write "" for a quote)',
    ]);
  });
});

describe('rows and cells', () => {
  test('a row of one column with a surplus cell is named in the singular', () => {
    expect(() => parseRosterCsv('id\nalice,x\n', 'x.csv')).toThrow('lab.roster (x.csv line 2): "alice,x" is not accepted; expected at most 1 cell (id), as in the header line; quote a cell that contains a comma, e.g. "Doe, Jane"');
  });

  test('a row shorter than the header has no name or e-mail', () => {
    expect(parseRosterCsv('id,name,email\nalice\nbob,Bob\n', 'x.csv')).toEqual([{ id: 'alice', line: 2 }, { id: 'bob', name: 'Bob', line: 3 }]);
  });

  test('text after a closing quote is named in the message', () => {
    expect(() => parseRosterCsv('id,name\nalice,"Doe" Jane\n', 'x.csv')).toThrow('lab.roster (x.csv line 2): "\\"Doe\\" Jane" is not accepted; expected "," or the end of the line after a closing quote, not "Jane"; quote the whole cell, e.g. "Doe, Jane", and write "" for a quote inside it');
  });

  test('spaces and tabs around a quoted cell are dropped', () => {
    expect(parseRosterCsv('id,name,email\nalice,\t"Doe, Jane"\t, alice@example.org\n', 'x.csv')).toEqual([
      { id: 'alice', name: 'Doe, Jane', email: 'alice@example.org', line: 2 },
    ]);
  });

  test.each([
    ['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r'],
  ])('line breaks (%s) inside a quoted cell are counted, so later lines keep their numbers', (_name, eol) => {
    // GIVEN a quoted id spanning two lines (the ids are not checked by the parser) WHEN parsed
    // THEN the next student is on line 4
    expect(parseRosterCsv(`id${eol}"a${eol}b"${eol}carol${eol}`, 'x.csv')).toEqual([{ id: `a${eol}b`, line: 2 }, { id: 'carol', line: 4 }]);
  });

  test('a name or e-mail longer than an EC2 tag value is refused; 256 characters are accepted', () => {
    const name = 'N'.repeat(256);
    expect(parseRosterCsv(`id,name\nalice,${name}\n`, 'x.csv')).toEqual([{ id: 'alice', name, line: 2 }]);
    expect(() => parseRosterCsv(`id,name\nalice,${name}N\n`, 'x.csv')).toThrow(/line 2\): "N{48}\.\.\." is not accepted; expected a display name such as "Jane Doe" of at most 256 characters$/);
    expect(() => parseRosterCsv(`id,email\nalice,${'a'.repeat(250)}@example.org\n`, 'x.csv')).toThrow(/expected an e-mail address such as "jane@example.org" of at most 256 characters$/);
  });

  test.each([['a b@example.org'], ['alice@example.org more'], ['@example.org'], ['alice@'], ['alice@b@example.org']])('"%s" is not an e-mail address', (email) => {
    expect(() => parseRosterCsv(`id,email\nalice,"${email}"\n`, 'x.csv')).toThrow(`lab.roster (x.csv line 2): ${JSON.stringify(email)} is not accepted; expected an e-mail address such as "jane@example.org" in the email column, or an empty cell`);
  });

  test('a value of exactly 48 characters is shown whole', () => {
    const id = `A${'b'.repeat(47)}`;
    expect(rosterErrorOf(() => loadRoster([id], '/nowhere')).problems[0]).toMatch(new RegExp(`^lab\\.roster\\[0\\]: "${id}" is not accepted; `));
  });
});

describe('how many problems are shown', () => {
  test('exactly 20 problems are all shown, with no count line', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `Bad Id ${i}`);
    const error = rosterErrorOf(() => loadRoster(ids, '/nowhere'));
    expect(error.problems).toHaveLength(20);
    expect(error.problems[19]).toMatch(/^lab\.roster\[19\]: "Bad Id 19" is not accepted; /);
    // AND an inline roster's heading names lab.roster
    expect(error.message.split('\n')[0]).toBe('Invalid lab roster lab.roster (20 problems):');
  });
});

describe('roster files that cannot be read', () => {
  test('a file over 1 MiB is refused unread; 1 MiB is read', () => {
    // GIVEN a roster padded with blank lines to exactly 1 MiB WHEN loaded THEN its student is there
    const head = 'id\nalice\n';
    fs.writeFileSync(path.join(scratch, 'big.csv'), head + '\n'.repeat(1024 * 1024 - head.length));
    expect(loadRoster('big.csv', scratch)).toEqual([{ id: 'alice', line: 2 }]);
    // AND one byte more is refused, naming the limit
    fs.appendFileSync(path.join(scratch, 'big.csv'), '\n');
    expect(rosterErrorOf(() => loadRoster('big.csv', scratch)).problems).toEqual([
      `lab.roster: "big.csv" is not accepted; expected a CSV roster file of at most 1 MiB; ${path.join(scratch, 'big.csv')} is larger`,
    ]);
  });

  test('a missing absolute path gets no hint about relative paths', () => {
    const missing = path.join(scratch, 'missing.csv');
    expect(rosterErrorOf(() => loadRoster(missing, '/nowhere')).problems).toEqual([
      `lab.roster: ${JSON.stringify(missing)} is not accepted; expected a CSV roster file; file not found: ${missing}`,
    ]);
  });

  test('a path through a file (ENOTDIR) is reported as not found', () => {
    fs.writeFileSync(path.join(scratch, 'class.csv'), 'id\nalice\n');
    expect(() => loadRoster('class.csv/students.csv', scratch)).toThrow(`expected a CSV roster file; file not found: ${path.join(scratch, 'class.csv', 'students.csv')}`);
  });

  test('any other error is reported with its reason', () => {
    // GIVEN a symbolic link to itself (ELOOP) WHEN loaded THEN the path and the system's reason are named
    fs.symlinkSync('loop.csv', path.join(scratch, 'loop.csv'));
    expect(() => loadRoster('loop.csv', scratch)).toThrow(new RegExp(`expected a readable CSV roster file; ${path.join(scratch, 'loop.csv')} cannot be read \\(ELOOP`));
  });

  test('a UTF-16 big-endian file is named as UTF-16', () => {
    fs.writeFileSync(path.join(scratch, 'utf16be.csv'), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('id\nalice\n', 'utf16le').swap16()]));
    expect(() => loadRoster('utf16be.csv', scratch)).toThrow(/is UTF-16 text: save it as "CSV UTF-8"/);
  });

  test('only a whole UTF-16 byte order mark names the file UTF-16: other files that start with 0xFF or 0xFE are "not UTF-8"', () => {
    // GIVEN Latin-1 files whose first or second byte is 0xFF ("ÿ") or 0xFE ("þ"), but not as FF FE or FE FF
    for (const start of [[0xff, 0x61], [0x61, 0xfe], [0xfe, 0x61], [0x61, 0xff]]) {
      fs.writeFileSync(path.join(scratch, 'latin1.csv'), Buffer.concat([Buffer.from(start), Buffer.from('\nid\nalice\n', 'latin1')]));
      // THEN each is refused as not UTF-8, not as UTF-16
      expect(rosterErrorOf(() => loadRoster('latin1.csv', scratch)).problems).toEqual([
        `lab.roster: "latin1.csv" is not accepted; expected a UTF-8 CSV file; ${path.join(scratch, 'latin1.csv')} has bytes that are not UTF-8 (save it as "CSV UTF-8")`,
      ]);
    }
  });
});
