import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeDirAtomically } from '../../../lib/cli/atomic-dir';

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
    expect(fs.readdirSync(out).sort()).toEqual(['a.md', 'a.pem']);
    expect(fs.readdirSync(root)).toEqual(['out']); // no temp or old directory left
  });

  test('a failure half-way leaves nothing behind, and the old directory as it was', () => {
    // GIVEN an existing directory and a file list that fails on its second file
    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'keep');
    const bad = [files[0], { name: '../escape', content: 'x', mode: 0o644 }];
    // WHEN
    expect(() => writeDirAtomically(out, bad, true)).toThrow('bad file name ../escape');
    // THEN
    expect(fs.readdirSync(root)).toEqual(['out']);
    expect(fs.readdirSync(out)).toEqual(['keep.txt']);
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
});
