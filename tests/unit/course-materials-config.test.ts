/**
 * `lab.materials` in the config (lib/config/course-materials.ts): the folder is
 * read relative to the config file, its size is checked against the stated
 * limits, and its requirements.txt by python.packages' rules; each bad input
 * is one problem that names the field, the value and what is accepted.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, ConfigSchema, loadConfig, validateConfig } from '../../lib/config';
import { MAX_COURSE_REQUIREMENTS, MAX_MATERIALS_BYTES, MAX_MATERIALS_FILES } from '../../lib/config/course-materials';
import { configErrorOf } from './config-errors';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'materials');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A config with a 2-student lab whose materials are `materials`. */
function labWith(materials: unknown, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...rest, lab: { roster: ['alice', 'bob'], materials } };
}

/** A folder in the test's directory with the given files (path → content). */
function folderOf(files: Record<string, string>, name = 'course'): string {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, name, file), content);
  }
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  return name;
}

/** The only problem of validating `input` with `dir` as the config's directory. */
function onlyProblem(input: unknown): string {
  const { problems } = configErrorOf(input, dir);
  expect(problems).toHaveLength(1);
  return problems[0];
}

describe('lab.materials read', () => {
  test('a folder relative to the config file: its files, bytes and the course requirements', () => {
    // GIVEN a config file next to a materials folder
    folderOf({ 'intro.ipynb': '{}', 'data/a.csv': 'x\n1\n', 'requirements.txt': '# extra\nrequests\n\npandas>=2  # frames\n' });
    const file = path.join(dir, 'class.json');
    fs.writeFileSync(file, JSON.stringify(labWith('course')));
    // WHEN the config is loaded from another working directory
    const config = loadConfig(file);
    // THEN the folder is found relative to the config file, counted, and its requirements read (comments and blank lines skipped)
    expect(config.lab!.materials).toBe('course');
    expect(config.lab!.courseMaterials).toEqual({
      folder: path.join(dir, 'course'),
      files: 3,
      bytes: '{}'.length + 'x\n1\n'.length + '# extra\nrequests\n\npandas>=2  # frames\n'.length,
      requirements: ['requests', 'pandas>=2'],
    });
    // AND the inline roster's students stay beside them
    expect(config.lab!.students).toEqual([
      { id: 'alice', line: 1 },
      { id: 'bob', line: 2 },
    ]);
  });

  test('without materials the lab has none: null by default', () => {
    const config = validateConfig(labWith(undefined));
    expect(config.lab!.materials).toBeNull();
    expect(config.lab!.courseMaterials).toBeUndefined();
  });

  test('editor and tool leftovers are not counted (the asset leaves them out too)', () => {
    folderOf({ 'a.ipynb': '{}', '.git/HEAD': 'ref', '.ipynb_checkpoints/a-checkpoint.ipynb': '{}', 'pkg/__pycache__/m.pyc': 'x', '.DS_Store': 'x' });
    expect(validateConfig(labWith('course'), undefined, dir).lab!.courseMaterials!.files).toBe(1);
  });

  test('a requirement python.packages already has, written the same, is installed once', () => {
    folderOf({ 'requirements.txt': 'numpy\nrequests\n' });
    expect(validateConfig(labWith('course'), undefined, dir).lab!.courseMaterials!.requirements).toEqual(['requests']);
  });

  test('ConfigSchema alone does not read the folder, and says so rather than build a lab without it', () => {
    const parsed = ConfigSchema.parse(labWith('course'));
    expect(() => parsed.lab!.courseMaterials).toThrow(/the folder "course" has not been read; .*loadConfig\(file\)/);
  });
});

describe('lab.materials refused', () => {
  test('a folder that does not exist names the path it looked for', () => {
    expect(onlyProblem(labWith('notebooks'))).toBe(
      `lab.materials: "notebooks" is not accepted; expected a folder of course materials; not found: ${path.join(dir, 'notebooks')} (a relative path is read from the config file's directory)`,
    );
  });

  test('a file instead of a folder', () => {
    fs.writeFileSync(path.join(dir, 'intro.ipynb'), '{}');
    expect(onlyProblem(labWith('intro.ipynb'))).toMatch(/^lab\.materials: "intro\.ipynb" is not accepted; expected a folder of course materials; .*intro\.ipynb is a file, not a folder/);
  });

  test('an empty folder', () => {
    folderOf({});
    expect(onlyProblem(labWith('course'))).toMatch(/^lab\.materials: "course" is not accepted; expected a folder of course materials; .* holds no file$/);
  });

  test(`more than ${MAX_MATERIALS_BYTES / 1024 / 1024} MiB of files`, () => {
    // GIVEN a folder whose one data file is 1 byte over the limit (sparse: no disk used)
    folderOf({ 'intro.ipynb': '' });
    fs.truncateSync(path.join(dir, 'course', 'intro.ipynb'), MAX_MATERIALS_BYTES + 1);
    // THEN the problem names the limit and the folder's size
    expect(onlyProblem(labWith('course'))).toMatch(/^lab\.materials: "course" is not accepted; expected at most 256 MiB of files; .*course holds 256 MiB \(every student machine downloads it/);
  });

  test(`more than ${MAX_MATERIALS_FILES} files`, () => {
    const files = Object.fromEntries(Array.from({ length: MAX_MATERIALS_FILES + 1 }, (_, i) => [`data/f${i}.txt`, '']));
    folderOf(files);
    expect(onlyProblem(labWith('course'))).toMatch(/^lab\.materials: "course" is not accepted; expected at most 2,000 files; .*course holds 2,001/);
  });

  test('a symbolic link, which could point anywhere', () => {
    folderOf({ 'intro.ipynb': '{}' });
    fs.symlinkSync('/etc/passwd', path.join(dir, 'course', 'passwd'));
    expect(onlyProblem(labWith('course'))).toBe('lab.materials: "course" is not accepted; expected only files and folders; "passwd" is a symbolic link (copy the file in instead)');
  });

  test.each([
    ['', /expected the path of a folder of course materials .*; the path is empty/],
    [' course', /the path starts or ends with a space or line break/],
    [42, /expected the path of a folder of course materials, e\.g\. "course\/", or null/],
  ])('the value %j', (value, message) => {
    const line = onlyProblem(labWith(value));
    expect(line.startsWith(`lab.materials: ${JSON.stringify(value)} is not accepted; `)).toBe(true);
    expect(line).toMatch(message);
  });
});

describe('lab.materials: requirements.txt refused by python.packages\' rules', () => {
  test.each([
    ['-r more.txt', '"-r more.txt": expected a requirement, not a pip option (-r, -e, --index-url and the like are not accepted: the package index is python.indexUrl)'],
    ['--extra-index-url https://pypi.example.org/simple', 'expected a requirement, not a pip option'],
    ['-e git+https://example.org/repo.git', 'expected a requirement, not a pip option'],
    ['https://example.org/pkg-1.0-py3-none-any.whl', 'expected "name @ URL" for a requirement from a URL'],
    ['pkg @ http://example.org/pkg-1.0-py3-none-any.whl', 'pkg @ http://'],
    ['numpy==1.0', 'expected each project once; python.packages already has it as "numpy" (name it in one place)'],
    ['requests\nRequests>=2', 'line 2 "Requests>=2": expected each project once; "requests" is already on line 1'],
    ['pandas; $(rm -rf /)', 'pandas; $(rm -rf /)'],
  ])('%j', (text, fragment) => {
    folderOf({ 'intro.ipynb': '{}', 'requirements.txt': `${text}\n` });
    const line = onlyProblem(labWith('course'));
    expect(line.startsWith('lab.materials: "course" is not accepted; requirements.txt line ')).toBe(true);
    expect(line).toContain(fragment);
  });

  test('a line whose URL holds a credential is refused without showing it', () => {
    for (const text of ['pkg @ https://user:s3cret-token@pypi.example.org/pkg-1.0-py3-none-any.whl', '--index-url https://user:s3cret-token@pypi.example.org/simple']) {
      folderOf({ 'intro.ipynb': '{}', 'requirements.txt': `${text}\n` });
      const line = onlyProblem(labWith('course'));
      expect(line).toContain('requirements.txt line 1 (not shown: it holds a credential)');
      expect(line).not.toContain('s3cret-token');
    }
  });

  test(`more than ${MAX_COURSE_REQUIREMENTS} requirements`, () => {
    folderOf({ 'requirements.txt': Array.from({ length: MAX_COURSE_REQUIREMENTS + 1 }, (_, i) => `pkg${i}`).join('\n') });
    expect(onlyProblem(labWith('course'))).toContain(`expected at most ${MAX_COURSE_REQUIREMENTS} requirements in requirements.txt; it has ${MAX_COURSE_REQUIREMENTS + 1}`);
  });

  test('problems of the folder and of other fields are reported together', () => {
    folderOf({ 'intro.ipynb': '{}', 'requirements.txt': '-r x.txt\n' });
    const error = configErrorOf(labWith('course', { machine: { diskGiB: 1 } }), dir);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems.map((p) => p.split(':')[0])).toEqual(['machine.diskGiB', 'lab.materials']);
  });
});

test('the fixture course (tests/fixtures/materials) is a valid materials folder', () => {
  const materials = validateConfig(labWith(FIXTURE)).lab!.courseMaterials!;
  expect(materials.files).toBe(3);
  expect(materials.requirements).toEqual(['requests']);
});
