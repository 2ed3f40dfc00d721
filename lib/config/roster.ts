/**
 * The lab roster (`lab.roster`): who the students are.
 *
 * A roster is either a CSV file (a header line with at least `id`, optionally
 * `name` and `email`, then one student per line) or an inline list of ids in
 * the config. A student id becomes part of resource names, tags
 * (`dasklab:student=<id>`) and SSM parameter paths, so the id rules are strict
 * and checked before anything is built. The file format is forgiving about what
 * spreadsheets and editors produce: a UTF-8 byte order mark, CRLF (or CR) line
 * ends, blank lines, spaces around cells, and RFC 4180 quoting ("Doe, Jane",
 * with "" for a quote inside a quoted cell).
 *
 * Every problem becomes one line of a {@link ConfigError}, in the same form as
 * the config's own problems, with the line number in the field:
 *
 *     lab.roster (students.csv line 7): "Alice" is not accepted; expected a student id ...
 *     lab.roster[3]: "bob" is not accepted; expected each student once; "bob" is already entry [1]
 *
 * All problems of a roster are reported at once, not only the first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, formatValue } from './errors';

/** One student of the roster. */
export interface Student {
  /** The student id: part of resource names, tags and SSM paths. */
  readonly id: string;
  /** Display name, from the `name` column; absent when the column or cell is empty. */
  readonly name?: string;
  /** E-mail address, from the `email` column; absent when the column or cell is empty. */
  readonly email?: string;
  /** 1-based line of the CSV file the student is on; for an inline list, the entry's index + 1. */
  readonly line: number;
}

/**
 * Where a roster came from: a CSV file, named as written in the config (e.g.
 * `{ file: 'students.csv' }`), or `'inline'` for a list of ids in `lab.roster`.
 * It decides how a problem's location is written: `lab.roster (students.csv line 7)`
 * or `lab.roster[6]`.
 */
export type RosterSource = { readonly file: string } | 'inline';

/**
 * One problem of a roster, before it is written as a message line. `message`
 * is phrased as what is accepted ("expected ..."), like the config schema's
 * messages, so the schema can report inline-roster problems through zod.
 */
export interface RosterProblem {
  /** The line (file) or entry number (inline, index + 1) the problem is on; undefined: the roster as a whole. */
  readonly line?: number;
  /** The offending value, shown as JSON. */
  readonly value: unknown;
  /** Replaces the JSON of `value` in the message, for problems of the whole roster ("the roster of 501 students"). */
  readonly shown?: string;
  /** What is accepted, and why this is not: "expected ...". */
  readonly message: string;
}

/** Most students in one lab (one config). */
export const MAX_STUDENTS = 500;

/** Longest student id. */
export const MAX_STUDENT_ID_LENGTH = 32;

/** The columns a roster file may have; `id` is required. */
export const ROSTER_COLUMNS = ['id', 'name', 'email'] as const;

/** A roster column name. */
export type RosterColumn = (typeof ROSTER_COLUMNS)[number];

/** 1..32 of a-z, 0-9 and single hyphens, starting with a letter, ending with a letter or digit. */
const STUDENT_ID_PATTERN = /^(?!.*--)[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Longest name or e-mail cell: an EC2 tag value holds at most 256 characters. */
const MAX_CELL_LENGTH = 256;

/** Largest roster file read: 500 students need a few tens of kilobytes. */
const MAX_FILE_BYTES = 1024 * 1024;

const ID_RULE =
  `expected a student id of 1 to ${MAX_STUDENT_ID_LENGTH} lower-case letters, digits and single hyphens, ` +
  'starting with a letter and ending with a letter or digit (it becomes part of resource names, tags and SSM paths)';

const COLUMNS_RULE = `expected the columns ${ROSTER_COLUMNS.join(', ')} (only id is required)`;

/** Header names people write for our columns, lower-cased, and the column they mean. */
const COLUMN_SYNONYMS: Readonly<Record<string, RosterColumn>> = {
  'student': 'id',
  'student-id': 'id',
  'student_id': 'id',
  'studentid': 'id',
  'user': 'id',
  'username': 'id',
  'login': 'id',
  'full name': 'name',
  'fullname': 'name',
  'display name': 'name',
  'e-mail': 'email',
  'mail': 'email',
  'email address': 'email',
  'e-mail address': 'email',
};

// ---------------------------------------------------------------------------
// Student ids
// ---------------------------------------------------------------------------

/** How many of an id's disallowed characters a message lists. */
const MAX_LISTED_CHARACTERS = 8;

/** Characters a terminal would act on or hide: C1 controls, format (bidi, zero-width), private-use, unassigned. */
const INVISIBLE = /[\u007f-\u009f]|[\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u;

/** A character as a message names it: "a space", `"@"`, or `U+202E` for one a terminal would act on or hide. */
function characterName(c: string): string {
  if (c === ' ') return 'a space';
  if (INVISIBLE.test(c) || /[\u0000-\u001f]/.test(c)) return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(c);
}

/**
 * Why `id` is not an acceptable student id, or null if it is one. Phrased to
 * follow "<field>: <value> is not accepted; ". Upper-case ids are rejected,
 * not lower-cased: an id is a name the trainer hands out, and dasklab does not
 * rename students silently; the message says which id to write instead.
 */
export function studentIdProblem(id: string): string | null {
  if (STUDENT_ID_PATTERN.test(id)) {
    return null;
  }
  if (id === '') {
    return `${ID_RULE}; the id is empty`;
  }
  const lower = id.toLowerCase();
  if (STUDENT_ID_PATTERN.test(lower)) {
    return `${ID_RULE}; ids are case-sensitive names: write ${JSON.stringify(lower)}`;
  }
  const reasons: string[] = [];
  if (id.length > MAX_STUDENT_ID_LENGTH) {
    reasons.push(`it has ${id.length} characters`);
  }
  if (/[A-Z]/.test(id)) {
    reasons.push('it has upper-case letters');
  }
  const others = [...new Set(id.replace(/[a-zA-Z0-9-]/g, ''))];
  if (others.length > 0) {
    const names = others.slice(0, MAX_LISTED_CHARACTERS).map(characterName);
    if (others.length > MAX_LISTED_CHARACTERS) names.push(`${others.length - MAX_LISTED_CHARACTERS} others`);
    const listed = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    reasons.push(`${listed} ${others.length === 1 ? 'is' : 'are'} not allowed${others.includes('@') ? ' (an id is a name, not an e-mail address)' : ''}`);
  }
  if (!/^[a-zA-Z]/.test(id)) {
    reasons.push(`it starts with ${characterName([...id][0])}`);
  }
  if (id.endsWith('-')) {
    reasons.push('it ends with "-"');
  }
  if (id.includes('--')) {
    reasons.push('it contains "--"');
  }
  return `${ID_RULE}; ${reasons.join('; ')}`;
}

/** The problem with a roster of `count` students (none, or more than {@link MAX_STUDENTS}), or null. */
export function rosterSizeProblem(count: number): RosterProblem | null {
  if (count === 0) {
    return { value: count, shown: 'a roster without students', message: `expected 1 to ${MAX_STUDENTS} students` };
  }
  if (count > MAX_STUDENTS) {
    return {
      value: count,
      shown: `the roster of ${count} students`,
      message: `expected at most ${MAX_STUDENTS} students in one lab; split the class into several configs, each with its own name`,
    };
  }
  return null;
}

/**
 * Every problem with the students' ids: malformed or empty ids, duplicates
 * (also ids that differ only in case, naming the line of the first), an empty
 * roster, more than {@link MAX_STUDENTS} students. In roster order.
 *
 * @param students the students, with the lines they are on
 * @param source where they came from, for naming the first of two duplicates
 */
export function findStudentProblems(students: readonly Student[], source: RosterSource): RosterProblem[] {
  const problems: RosterProblem[] = [];
  const size = rosterSizeProblem(students.length);
  if (size !== null) {
    problems.push(size);
  }
  const seen = new Map<string, Student>();
  for (const student of students) {
    const problem = studentIdProblem(student.id);
    if (problem !== null) {
      problems.push({ line: student.line, value: student.id, message: problem });
    }
    if (student.id === '') continue;
    const key = student.id.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, student);
      continue;
    }
    const there = source === 'inline' ? `entry [${first.line - 1}]` : `line ${first.line}`;
    const detail = first.id === student.id
      ? `${JSON.stringify(student.id)} is already ${source === 'inline' ? there : `on ${there}`}`
      : `${there} has ${JSON.stringify(first.id)}, the same id apart from case`;
    problems.push({ line: student.line, value: student.id, message: `expected each student once; ${detail}` });
  }
  return problems;
}

/**
 * Checks the students' ids (see {@link findStudentProblems}).
 *
 * @returns `students`, unchanged, when every id is acceptable
 * @throws ConfigError listing every problem, each naming its line
 */
export function validateStudentIds(students: readonly Student[], source: RosterSource): Student[] {
  const problems = findStudentProblems(students, source);
  if (problems.length > 0) {
    throw rosterError(source, problems);
  }
  return [...students];
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/** One CSV record: its cells (trimmed), its first line and its text. */
interface CsvRecord {
  readonly line: number;
  readonly cells: string[];
  readonly text: string;
}

/**
 * Splits CSV text into records (RFC 4180, leniently): cells separated by ",",
 * records by LF, CRLF or CR; a cell in double quotes may hold commas, line
 * breaks and "" for a quote. Spaces around a cell, quoted or not, are dropped.
 * Records whose cells are all empty (blank lines, ",,") are left out.
 */
function readCsvRecords(text: string): { records: CsvRecord[]; problems: RosterProblem[] } {
  const records: CsvRecord[] = [];
  const problems: RosterProblem[] = [];
  let i = 0;
  let line = 1;
  const atLineEnd = () => i >= text.length || text[i] === '\n' || text[i] === '\r';
  const skipSpaces = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  while (i < text.length) {
    const start = i;
    const startLine = line;
    const cells: string[] = [];
    for (;;) {
      const cellStart = i;
      skipSpaces();
      let cell = '';
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        let closed = false;
        while (i < text.length) {
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) line++;
          cell += text[i];
          i++;
        }
        if (!closed) {
          const rest = text.slice(cellStart).split(/\r\n|\n|\r/)[0];
          problems.push({
            line: quoteLine,
            value: rest,
            message: 'expected a closing " for the quoted cell that starts on this line (inside quotes, write "" for a quote)',
          });
          return { records, problems };
        }
        skipSpaces();
        if (!atLineEnd() && text[i] !== ',') {
          const after = i;
          while (!atLineEnd() && text[i] !== ',') i++;
          problems.push({
            line,
            value: text.slice(cellStart, i).trim(),
            message: `expected "," or the end of the line after a closing quote, not ${JSON.stringify(text.slice(after, i))}; ` +
              'quote the whole cell, e.g. "Doe, Jane", and write "" for a quote inside it',
          });
        }
      } else {
        while (!atLineEnd() && text[i] !== ',') {
          cell += text[i];
          i++;
        }
      }
      cells.push(cell.trim());
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    const end = i;
    if (text[i] === '\r' && text[i + 1] === '\n') {
      i += 2;
    } else if (i < text.length) {
      i++;
    }
    line++;
    if (cells.some((c) => c !== '')) {
      records.push({ line: startLine, cells, text: text.slice(start, end) });
    }
  }
  return { records, problems };
}

/** The column a header name means, if it is a near miss ("ID", "E-Mail", "student"). */
function columnSuggestion(name: string): RosterColumn | undefined {
  const lower = name.toLowerCase();
  const exact = ROSTER_COLUMNS.find((c) => c === lower);
  return exact ?? COLUMN_SYNONYMS[lower];
}

/**
 * Reads a roster's CSV text. `students` is null when no student rows can be
 * read at all (an empty file, or a header without an id column); the ids are
 * not checked here.
 */
function readRosterText(text: string): { students: Student[] | null; problems: RosterProblem[] } {
  // Editors on Windows may save a byte order mark; it is not part of the header.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { records, problems } = readCsvRecords(body);
  if (records.length === 0) {
    if (problems.length === 0) {
      problems.push({ value: '', shown: 'an empty file', message: 'expected a header line such as "id,name,email", then one student per line' });
    }
    return { students: null, problems };
  }
  const [header, ...rows] = records;
  // Trailing empty header cells come from spreadsheets ("id,name,,"); cells under them must stay empty.
  const columns = [...header.cells];
  while (columns.length > 0 && columns[columns.length - 1] === '') columns.pop();

  const known = columns.map((c) => (ROSTER_COLUMNS as readonly string[]).includes(c));
  const suggested = columns.map(columnSuggestion);
  const separatorHint = columns.length === 1 && /[;\t|]/.test(columns[0])
    ? `; the line seems to use ${JSON.stringify(/[;\t|]/.exec(columns[0])![0])} between cells: save the file as comma-separated CSV`
    : '';
  if (!columns.includes('id') && suggested.every((s) => s === undefined)) {
    // Most likely no header at all: the first line is a student.
    // Not shown: lab.roster may name any file (a key, /etc/shadow), not a roster.
    problems.push({
      line: header.line,
      value: '',
      shown: 'the first line (not shown: the file may not be a roster)',
      message: `expected a header line naming the columns, "id" (required), "name" and "email", e.g. "id,name,email"; the first line is read as the header${separatorHint}`,
    });
    return { students: null, problems };
  }
  // Problems of the header are reported, and the rows are still read (by the
  // known columns) so that their problems are reported in the same run.
  columns.forEach((column, index) => {
    if (known[index]) {
      const firstIndex = columns.indexOf(column);
      if (firstIndex !== index) {
        problems.push({ line: header.line, value: column, message: `expected each column once; "${column}" is already column ${firstIndex + 1}` });
      }
      return;
    }
    if (column === '') {
      problems.push({ line: header.line, value: column, message: `expected a column name in column ${index + 1}; ${COLUMNS_RULE}` });
      return;
    }
    const suggestion = suggested[index];
    const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
    problems.push({ line: header.line, value: column, message: `unknown column${hint}; ${COLUMNS_RULE}` });
  });
  if (!columns.includes('id')) {
    if (!suggested.includes('id')) {
      problems.push({ line: header.line, value: header.text, message: 'expected an "id" column in the header line, e.g. "id,name,email"' });
    }
    return { students: null, problems };
  }

  const at = (column: RosterColumn) => columns.indexOf(column);
  const students: Student[] = [];
  for (const row of rows) {
    const extra = row.cells.slice(columns.length);
    if (extra.some((c) => c !== '')) {
      problems.push({
        line: row.line,
        value: row.text,
        message: `expected at most ${columns.length} cell${columns.length === 1 ? '' : 's'} (${columns.join(', ')}), as in the header line; ` +
          'quote a cell that contains a comma, e.g. "Doe, Jane"',
      });
    }
    const cell = (column: RosterColumn): string => (at(column) < 0 ? '' : row.cells[at(column)] ?? '');
    const name = cell('name');
    const email = cell('email');
    if (name !== '') {
      const problem = textCellProblem(name, 'a display name such as "Jane Doe"');
      if (problem !== null) problems.push({ line: row.line, value: name, message: problem });
    }
    if (email !== '') {
      const problem = textCellProblem(email, 'an e-mail address such as "jane@example.org"') ??
        (/^[^\s@]+@[^\s@]+$/.test(email) ? null : 'expected an e-mail address such as "jane@example.org" in the email column, or an empty cell');
      if (problem !== null) problems.push({ line: row.line, value: email, message: problem });
    }
    students.push({
      id: cell('id'),
      ...(name === '' ? {} : { name }),
      ...(email === '' ? {} : { email }),
      line: row.line,
    });
  }
  return { students, problems };
}

/** Why a name or e-mail cell cannot be used (line breaks, control characters, length), or null. */
function textCellProblem(value: string, what: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    return `expected ${what} on one line, without control characters (is a quote missing?)`;
  }
  if (value.length > MAX_CELL_LENGTH) {
    return `expected ${what} of at most ${MAX_CELL_LENGTH} characters`;
  }
  return null;
}

/**
 * Parses the text of a roster file. Tolerates a UTF-8 byte order mark, CRLF
 * and CR line ends, blank lines, spaces around cells and quoted cells. Does
 * not check the ids: use {@link validateStudentIds}, or {@link loadRoster},
 * which does both and reports every problem at once.
 *
 * @param text the file's content
 * @param source the file's name as written in `lab.roster`, for the messages
 * @returns the students, in file order, with their line numbers
 * @throws ConfigError listing every problem with the file's form: no header or
 *   no `id` column, unknown or repeated columns, too many cells in a row, an
 *   unclosed quote, a malformed name or e-mail cell
 */
export function parseRosterCsv(text: string, source: string): Student[] {
  const { students, problems } = readRosterText(text);
  if (problems.length > 0 || students === null) {
    throw rosterError({ file: source }, problems);
  }
  return students;
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/**
 * The students of `lab.roster`, checked.
 *
 * @param roster `lab.roster` as written in the config: a CSV file path, or a list of ids
 * @param configDir the directory a relative file path is resolved against: the
 *   config file's directory
 * @returns the students in roster order; for an inline list, `line` is the
 *   entry's index + 1 and there is no name or e-mail
 * @throws ConfigError listing every problem (of the file's form and of the ids)
 *   at once, or naming the path if the file is missing or unreadable
 */
export function loadRoster(roster: string | readonly string[], configDir: string): Student[] {
  if (typeof roster !== 'string') {
    return validateStudentIds(roster.map((id, i) => ({ id, line: i + 1 })), 'inline');
  }
  const file = path.resolve(configDir, roster);
  const source: RosterSource = { file: roster };
  const text = readRosterFile(file, roster);
  const { students, problems } = readRosterText(text);
  if (students !== null) {
    problems.push(...findStudentProblems(students, source));
  }
  if (problems.length > 0 || students === null) {
    throw rosterError(source, problems, file);
  }
  return students;
}

/** The text of a roster file, as UTF-8. */
function readRosterFile(file: string, written: string): string {
  const fail = (reason: string): never => {
    throw new ConfigError(`Cannot read lab roster ${file}`, [`lab.roster: ${formatValue(written)} is not accepted; ${reason}`]);
  };
  let bytes: Buffer;
  try {
    const stat = fs.statSync(file);
    // A device (/dev/zero) never ends and a named pipe blocks the open: only a regular file is read.
    if (!stat.isFile() && !stat.isDirectory()) {
      fail(`expected a CSV roster file; ${file} is not a regular file (a device, pipe or socket)`);
    }
    if (stat.size > MAX_FILE_BYTES) {
      fail(`expected a CSV roster file of at most ${MAX_FILE_BYTES / 1024 / 1024} MiB; ${file} is larger`);
    }
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const relative = path.isAbsolute(written) ? '' : ' (a relative path is read from the config file\'s directory)';
    const inlineHint = /^[A-Za-z0-9-]+$/.test(written) ? `; for an inline roster write a list: ${JSON.stringify([written])}` : '';
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return fail(`expected a CSV roster file; file not found: ${file}${relative}${inlineHint}`);
    }
    if (code === 'EISDIR') {
      return fail(`expected a CSV roster file; ${file} is a directory`);
    }
    return fail(`expected a readable CSV roster file; ${file} cannot be read (${(err as Error).message})`);
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return fail(`expected a UTF-8 CSV file; ${file} is UTF-16 text: save it as "CSV UTF-8"`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(`expected a UTF-8 CSV file; ${file} has bytes that are not UTF-8 (save it as "CSV UTF-8")`);
  }
  // Tabs and line ends are text; other control characters mean a binary file, whose bytes are not shown.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return fail(`expected a text CSV roster file; ${file} holds control characters (is it a binary file?)`);
  }
  return text;
}

/** Where a problem is: `lab.roster (students.csv line 7)`, `lab.roster[6]`, `lab.roster (students.csv)`, `lab.roster`. */
function locate(source: RosterSource, line: number | undefined): string {
  if (source === 'inline') {
    return line === undefined ? 'lab.roster' : `lab.roster[${line - 1}]`;
  }
  return line === undefined ? `lab.roster (${source.file})` : `lab.roster (${source.file} line ${line})`;
}

/** Longest excerpt of a roster value in a message: an id too long by half still shows whole. */
const MAX_EXCERPT_LENGTH = 48;

/** Most problem lines of one roster; the rest are counted. */
const MAX_PROBLEM_LINES = 20;

/**
 * A value from a roster as it may be shown: at most {@link MAX_EXCERPT_LENGTH}
 * characters, with the characters a terminal would act on or hide (C1
 * controls, bidi overrides, zero-width and private-use characters) replaced by
 * "?". C0 controls are left to JSON, which escapes them ("\n").
 */
function excerpt(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const chars = [...value];
  const cut = chars.length > MAX_EXCERPT_LENGTH ? `${chars.slice(0, MAX_EXCERPT_LENGTH).join('')}...` : value;
  return cut.replace(new RegExp(INVISIBLE.source, 'gu'), '?');
}

/** One message line: "<where>: <value> is not accepted; <message>". */
export function formatRosterProblem(problem: RosterProblem, source: RosterSource): string {
  return `${locate(source, problem.line)}: ${problem.shown ?? formatValue(excerpt(problem.value))} is not accepted; ${problem.message}`;
}

/** The ConfigError for a roster's problems: the first {@link MAX_PROBLEM_LINES}, and how many more. */
function rosterError(source: RosterSource, problems: readonly RosterProblem[], file?: string): ConfigError {
  const name = source === 'inline' ? 'lab.roster' : file ?? source.file;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.slice(0, MAX_PROBLEM_LINES).map((p) => formatRosterProblem(p, source));
  if (problems.length > MAX_PROBLEM_LINES) {
    lines.push(`${locate(source, undefined)}: ${problems.length - MAX_PROBLEM_LINES} more problems are not shown; fix the ones above first`);
  }
  return new ConfigError(`Invalid lab roster ${name} (${count})`, lines);
}
