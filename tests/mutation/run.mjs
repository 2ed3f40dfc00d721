/**
 * `npm run test:mutation [-- module ...]`: one Stryker run per module (all of
 * MODULES, smallest first, when none is named), printing each module's
 * score and time.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MODULES } from './modules.mjs';
import { scoreOf } from './score.mjs';

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(MODULES);
const unknown = names.filter((n) => !MODULES[n]);
if (unknown.length > 0) {
  console.error(`unknown module(s) ${unknown.join(', ')}; expected: ${Object.keys(MODULES).join(', ')}`);
  process.exit(2);
}
const summary = [];
let failed = false;
for (const name of names) {
  const started = Date.now();
  const run = spawnSync('npx', ['stryker', 'run', 'tests/mutation/stryker.config.mjs'], { stdio: 'inherit', env: { ...process.env, STRYKER_MODULE: name } });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (run.status !== 0) {
    failed = true;
    summary.push(`${name}: stryker exited ${run.status} after ${seconds} s`);
    continue;
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'));
  const mutants = Object.values(report.files).flatMap((f) => f.mutants);
  summary.push(`${name}: ${scoreOf(mutants)}, ${seconds} s`);
}
console.log(['', 'Mutation score per module:', ...summary.map((line) => `  ${line}`)].join('\n'));
process.exit(failed ? 1 : 0);
