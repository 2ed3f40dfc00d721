/**
 * The README's promises that a test holds something link to that test, as
 * [`tests/.../x.test.ts` › "name"](tests/.../x.test.ts); each link must lead
 * to a test or group of tests of that name.
 */
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** Titles of tests and groups in a test file (the static text of test.each titles included). */
function titlesOf(file: string): string[] {
  const source = fs.readFileSync(path.join(REPO, file), 'utf8');
  return [...source.matchAll(/\b(?:test|it|describe)(?:\.each(?:<[^>]*>)?\([\s\S]*?\))?\(\s*(['`"])((?:(?!\1)[^\\]|\\.)*)\1/g)].map((m) => m[2]);
}

describe('README promises held by a test', () => {
  const links = [...README.matchAll(/\[`(tests\/[\w./-]+\.test\.ts)` › "([^"]+)"\]\(([^)]+)\)/g)].map((m) => ({ file: m[1], name: m[2], target: m[3] }));

  test('every "a test holds this" and "a test checks" in the README links to its test', () => {
    // GIVEN the README's sentences that promise a test
    const promises = README.split(/(?<=[.;:])\s+/).filter((sentence) => /\ba test (holds|checks)\b/.test(sentence));
    expect(promises.length).toBeGreaterThan(0);
    // THEN each is followed by a link to a test
    for (const promise of promises) {
      const at = README.indexOf(promise);
      const next = README.slice(at + promise.length).trimStart();
      const linked = /\[`tests\//.test(promise) || next.startsWith('[`tests/');
      expect({ promise, linked }).toEqual({ promise, linked: true });
    }
  });

  test('every linked test exists, by file and name', () => {
    expect(links.length).toBeGreaterThan(0);
    for (const { file, name, target } of links) {
      expect(target).toBe(file);
      expect(fs.existsSync(path.join(REPO, file))).toBe(true);
      const found = titlesOf(file).some((title) => title === name || title.replace(/%[sdpj]: ?/g, '').trim() === name);
      expect({ file, name, found }).toEqual({ file, name, found: true });
    }
  });
});
