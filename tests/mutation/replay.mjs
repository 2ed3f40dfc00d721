/**
 * `node tests/mutation/replay.mjs <module> [report.json]`: the "after" of a
 * module's Stryker run. Every mutant that survived the run (or that no test
 * covered) is written into its file, the module's test files as they are now
 * are run with jest, and the file is put back.
 *
 * Stryker's own incremental mode re-tests every mutant that a changed test
 * file covers, which for a module's main test file is nearly all of them; the
 * survivors are what new tests are written for. The mutants come from the
 * run's JSON report (reports/mutation/<module>.json by default), which holds
 * the source the run mutated. Where a file changed since, each mutant is
 * placed on the same lines of the file as it is now (the nearest place they
 * appear unchanged); a mutant whose lines are gone is reported as gone and
 * counted as it was. The tests must pass on the files as they are, or nothing
 * is replayed. The mutants are written into the working tree (and put back on
 * exit, Ctrl-C included): start no Stryker run meanwhile, it would copy them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { jestConfigOf, MODULES } from './modules.mjs';
import { scoreOf } from './score.mjs';

const [name, reportFile = `reports/mutation/${name}.json`] = process.argv.slice(2);
const module = MODULES[name];
if (!module) {
  console.error(`usage: node tests/mutation/replay.mjs <module> [report.json]; module is one of ${Object.keys(MODULES).join(', ')}`);
  process.exit(2);
}
const TIMEOUT_MS = 120_000;
const root = process.cwd();
let report;
try {
  report = JSON.parse(readFileSync(reportFile, 'utf8'));
} catch (err) {
  console.error(`cannot read the run's report ${reportFile} (${err.message}); a Stryker run writes it when it finishes ` +
    `(a stopped run writes none: node tests/mutation/survivors.mjs ${name} reads what it found)`);
  process.exit(2);
}

// The module's tests as Stryker runs them.
const jestConfig = { ...createRequire(import.meta.url)(join(root, 'jest.config.js')), rootDir: root, ...jestConfigOf(module) };

/** 'Killed', 'Timeout' or 'Survived': the module's tests on the code as it is on disk. */
function runTests() {
  const result = spawnSync(join(root, 'node_modules/.bin/jest'), ['--ci', '--silent', '--config', JSON.stringify(jestConfig)], {
    cwd: root,
    stdio: 'ignore',
    timeout: TIMEOUT_MS,
  });
  if (result.error?.code === 'ETIMEDOUT') return 'Timeout';
  return result.status === 0 ? 'Survived' : 'Killed';
}

/** Offset in `source` of a Stryker location (lines and columns from 1). */
function offsetOf(lines, { line, column }) {
  return lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0) + column - 1;
}

/**
 * The mutant's location moved to `current`: its lines of `runSource`, found
 * unchanged in `current` nearest where they were, or null if they are gone.
 */
function relocate(runSource, current, { start, end }) {
  const runLines = runSource.split('\n');
  const currentLines = current.split('\n');
  const block = runLines.slice(start.line - 1, end.line);
  let best = null;
  for (let i = 0; i + block.length <= currentLines.length; i++) {
    if (block.every((l, k) => currentLines[i + k] === l) && (best === null || Math.abs(i - (start.line - 1)) < Math.abs(best - (start.line - 1)))) {
      best = i;
    }
  }
  if (best === null) return null;
  const shift = best - (start.line - 1);
  return {
    start: offsetOf(currentLines, { line: start.line + shift, column: start.column }),
    end: offsetOf(currentLines, { line: end.line + shift, column: end.column }),
    line: start.line + shift,
  };
}

const originals = new Map();
function restore() {
  for (const [file, text] of originals) writeFileSync(file, text);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    restore();
    process.exit(130);
  });
}

const all = Object.entries(report.files).flatMap(([file, { mutants }]) => mutants.map((m) => ({ ...m, file })));
const survivors = all.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
console.log(`${name}: the run (${reportFile}): ${scoreOf(all)}; replaying ${survivors.length} survivors`);
const replayed = [];
try {
  if (runTests() !== 'Survived') {
    throw new Error('the module\'s tests fail on the files as they are; nothing replayed');
  }
  for (const m of survivors) {
    const path = join(root, m.file);
    if (!originals.has(path)) originals.set(path, readFileSync(path, 'utf8'));
    const current = originals.get(path);
    const at = relocate(report.files[m.file].source, current, m.location);
    const where = `${m.file}:${m.location.start.line}:${m.location.start.column}`;
    const shown = m.replacement.length > 60 ? `${m.replacement.slice(0, 60)}…` : m.replacement;
    if (at === null) {
      console.log(`${where} ${m.mutatorName} ${JSON.stringify(shown)}: gone (its lines changed since the run)`);
      continue;
    }
    writeFileSync(path, current.slice(0, at.start) + m.replacement + current.slice(at.end));
    const status = runTests();
    writeFileSync(path, current);
    replayed.push({ ...m, status });
    const moved = at.line === m.location.start.line ? '' : ` (now line ${at.line})`;
    console.log(`${where}${moved} ${m.mutatorName} ${JSON.stringify(shown)}: ${status}`);
  }
} finally {
  restore();
}
const after = all.map((m) => replayed.find((r) => r.id === m.id && r.file === m.file) ?? m);
console.log(`${name}: after: ${scoreOf(after)}; ${replayed.filter((m) => m.status === 'Survived').length} still surviving, ${survivors.length - replayed.length} gone`);
