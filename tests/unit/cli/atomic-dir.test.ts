import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkWritableDir, OUT_DIR_MARKER, writeDirAtomically } from '../../../lib/cli/atomic-dir';

describe('writing the handouts directory at once', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-atomic-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const files = [
    { name: 'a.pem', content: 'key\n', mode: 0o600 },
    { name: 'a.md', content: '# a\n', mode: 0o644 },
  ];

  test('creates the directory (0700) with each file at its mode, even under a permissive umask', () => {
    // GIVEN a umask that would leave keys readable by others
    const umask = process.umask(0o000);
    try {
      // WHEN
      writeDirAtomically(path.join(root, 'out', 'nested'), files, false);
    } finally {
      process.umask(umask);
    }
    // THEN
    const out = path.join(root, 'out', 'nested');
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(out, 'a.pem')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(out, 'a.md')).mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(path.join(out, 'a.pem'), 'utf8')).toBe('key\n');
  });

  test('an empty existing directory is fine; a non-empty one needs force', () => {
    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    writeDirAtomically(out, files, false);
    expect(() => writeDirAtomically(out, files, false)).toThrow(`${out} exists and is not empty; pass --force to replace it`);
    fs.writeFileSync(path.join(out, 'old.txt'), 'old');
    writeDirAtomically(out, files, true);
    expect(fs.readdirSync(out).sort()).toEqual([OUT_DIR_MARKER, 'a.md', 'a.pem']);
    expect(fs.readdirSync(root)).toEqual(['out']); // no temp or old directory left
  });

  test('a failure half-way leaves nothing behind, and the old directory as it was', () => {
    // GIVEN an existing directory and a file list that fails on its second file
    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'keep');
    fs.writeFileSync(path.join(out, OUT_DIR_MARKER), '');
    const bad = [files[0], { name: '../escape', content: 'x', mode: 0o644 }];
    // WHEN
    expect(() => writeDirAtomically(out, bad, true)).toThrow('bad file name ../escape');
    // THEN
    expect(fs.readdirSync(root)).toEqual(['out']);
    expect(fs.readdirSync(out).sort()).toEqual([OUT_DIR_MARKER, 'keep.txt']);
  });

  test('a file in the way is refused', () => {
    const out = path.join(root, 'file');
    fs.writeFileSync(out, 'x');
    expect(() => writeDirAtomically(out, files, true)).toThrow('exists and is not a directory');
  });

  test.each(['a/b', '.hidden'])('a file name with a slash or a leading dot (%s) is refused, nothing written', (name) => {
    const out = path.join(root, 'out');
    expect(() => writeDirAtomically(out, [{ name, content: 'x', mode: 0o600 }], false)).toThrow(`bad file name ${name}`);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('when the new directory cannot take the old one\'s place, the old one is put back', () => {
    // GIVEN a full directory, and a rename of the new one into its place that fails
    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'old');
    fs.writeFileSync(path.join(out, OUT_DIR_MARKER), '');
    const nodeFs: typeof fs = jest.requireActual('fs');
    const rename = nodeFs.renameSync;
    const spy = jest.spyOn(nodeFs, 'renameSync').mockImplementation((from, to) => {
      if (String(from).includes('.out.tmp-') && !String(from).endsWith('-old')) throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
      rename(from, to);
    });
    try {
      // WHEN
      expect(() => writeDirAtomically(out, files, true)).toThrow('EXDEV');
    } finally {
      spy.mockRestore();
    }
    // THEN the old directory is back, and no temporary directory is left
    expect(fs.readdirSync(root)).toEqual(['out']);
    expect(fs.readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('old');
  });

  /** A course directory: what a trainer keeps next to the handouts. */
  function courseDir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'dasklab.config.json'), '{"lab": {"roster": "students.csv"}}');
    fs.writeFileSync(path.join(dir, 'students.csv'), 'id\nalice\n');
  }

  test('--force replaces only a directory dasklab wrote', () => {
    // GIVEN a full directory that dasklab did not write
    const course = path.join(root, 'course');
    courseDir(course);
    // WHEN it is named with force THEN it is refused, naming the reason, and left as it was
    expect(() => writeDirAtomically(course, files, true, { cwd: root })).toThrow(
      `${course} was not written by dasklab (it has no ${OUT_DIR_MARKER}); --force replaces only a directory dasklab wrote: choose another --out, or remove it yourself`,
    );
    expect(fs.readdirSync(course).sort()).toEqual(['dasklab.config.json', 'students.csv']);
    expect(fs.readdirSync(root)).toEqual(['course']);
  });

  test('the directory it writes carries the marker, so the next --force may replace it', () => {
    const out = path.join(root, 'handouts');
    writeDirAtomically(out, files, false, { cwd: root });
    expect(fs.readFileSync(path.join(out, OUT_DIR_MARKER), 'utf8')).toBe('Written by dasklab. `--force` may replace this whole directory.\n');
    writeDirAtomically(out, [files[0]], true, { cwd: root });
    expect(fs.readdirSync(out).sort()).toEqual([OUT_DIR_MARKER, 'a.pem']);
  });

  test.each([
    ['the current directory', '.', 'is the current directory'],
    ['an ancestor of the current directory', '..', 'holds the current directory'],
    ['an ancestor two levels up', '../..', 'holds the current directory'],
  ])('%s is refused, even with the marker and --force', (_what, out, reason) => {
    // GIVEN the course directory as the current directory, marked as if dasklab wrote it
    const cwd = path.join(root, 'a', 'course');
    courseDir(cwd);
    for (let dir = cwd; dir !== path.dirname(root); dir = path.dirname(dir)) fs.writeFileSync(path.join(dir, OUT_DIR_MARKER), '');
    // WHEN it (or an ancestor) is the output THEN it is refused and nothing changes
    const target = path.resolve(cwd, out);
    expect(() => writeDirAtomically(target, files, true, { cwd })).toThrow(`${target} ${reason}`);
    expect(fs.readdirSync(cwd).sort()).toEqual([OUT_DIR_MARKER, 'dasklab.config.json', 'students.csv']);
  });

  test('a directory whose name is the start of the current one\'s is not its ancestor', () => {
    // GIVEN the current directory handouts-2024 WHEN the output is its sibling handouts
    const cwd = path.join(root, 'handouts-2024');
    fs.mkdirSync(cwd);
    const out = path.join(root, 'handouts');
    // THEN it is written
    writeDirAtomically(out, files, false, { cwd });
    expect(fs.readdirSync(out).sort()).toEqual([OUT_DIR_MARKER, 'a.md', 'a.pem']);
  });

  test('a symbolic link to the current directory is refused', () => {
    const cwd = path.join(root, 'course');
    courseDir(cwd);
    fs.writeFileSync(path.join(cwd, OUT_DIR_MARKER), '');
    const link = path.join(root, 'link');
    fs.symlinkSync(cwd, link);
    expect(() => writeDirAtomically(link, files, true, { cwd })).toThrow('is the current directory');
    expect(fs.readdirSync(cwd).sort()).toEqual([OUT_DIR_MARKER, 'dasklab.config.json', 'students.csv']);
  });

  test('the home directory and / are refused', () => {
    // GIVEN a home directory that is not an ancestor of the current one
    const home = path.join(root, 'home');
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, OUT_DIR_MARKER), '');
    expect(() => checkWritableDir(home, true, { cwd: root, home })).toThrow(`${home} is the home directory`);
    expect(() => writeDirAtomically(home, files, true, { cwd: root, home })).toThrow('is the home directory');
    expect(fs.readdirSync(home)).toEqual([OUT_DIR_MARKER]);
    // AND by default it is the user's own
    expect(() => checkWritableDir(os.homedir(), true, { cwd: root })).toThrow(`${os.homedir()} is the home directory`);
    expect(() => checkWritableDir('/', true, { cwd: root })).toThrow('/ is the root directory');
  });
});
