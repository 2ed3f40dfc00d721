/**
 * `npm run test:mutation` runs Stryker over the modules of
 * tests/mutation/modules.mjs; a path there that names nothing would make a
 * module's run mutate or test nothing. Every file and line range it names
 * exists, and every test file list matches test files.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.join(__dirname, '..', '..');

interface MutationModule {
  readonly mutate: string[];
  readonly tests: string[];
}

/** The modules as Stryker's config reads them (an ES module, loaded by node itself). */
function modules(): Record<string, MutationModule> {
  const script = "import('./tests/mutation/modules.mjs').then((m) => process.stdout.write(JSON.stringify(m.MODULES)))";
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' }));
}

/** Files of `dir` (relative to REPO) whose path matches a pattern with `*` (one name) and `**` (any folders). */
function matching(pattern: string, dir: string): string[] {
  const regex = new RegExp(`^${pattern.split('**/').map((part) => part.split('*').map((t) => t.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')).join('(?:.*/)?')}$`);
  const files = (fs.readdirSync(path.join(REPO, dir), { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/'));
  return files.filter((f) => regex.test(f));
}

describe('mutation testing modules', () => {
  const all = modules();

  test('there are modules, each with files to mutate and tests', () => {
    expect(Object.keys(all)).toEqual(expect.arrayContaining(['config', 'roster', 'cidr', 'replacement-check', 'nag', 'atomic-dir']));
    for (const [name, module] of Object.entries(all)) {
      expect({ name, mutate: module.mutate.length > 0, tests: module.tests.length > 0 }).toEqual({ name, mutate: true, tests: true });
    }
  });

  test('every file and line range to mutate exists', () => {
    for (const [name, module] of Object.entries(all)) {
      for (const entry of module.mutate) {
        const [, file, from, to] = /^([^:]+)(?::(\d+)-(\d+))?$/.exec(entry) ?? [];
        const dir = path.dirname(file);
        const found = file.includes('*') ? matching(path.basename(file), dir).length > 0 : fs.existsSync(path.join(REPO, file));
        expect({ name, entry, found }).toEqual({ name, entry, found: true });
        if (from !== undefined) {
          const lines = fs.readFileSync(path.join(REPO, file), 'utf8').split('\n').length;
          expect({ name, entry, inFile: Number(from) <= Number(to) && Number(to) <= lines }).toEqual({ name, entry, inFile: true });
        }
      }
    }
  });

  test('every test list names test files under tests/unit', () => {
    for (const [name, module] of Object.entries(all)) {
      for (const pattern of module.tests) {
        expect({ name, pattern, files: matching(pattern, 'tests/unit').filter((f) => f.endsWith('.test.ts')).length > 0 })
          .toEqual({ name, pattern, files: true });
      }
    }
  });
});
