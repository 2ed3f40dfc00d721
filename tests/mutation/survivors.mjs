/**
 * `node tests/mutation/survivors.mjs <module>`: the score so far and every
 * surviving mutant of a module's Stryker run, read from the results Stryker's
 * event recorder writes as each mutant is tested (reports/mutation/events-<module>/),
 * so a long run can be read, and its survivors worked on, before it ends.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { scoreOf } from './score.mjs';

const name = process.argv[2];
if (!name) {
  console.error('usage: node tests/mutation/survivors.mjs <module>');
  process.exit(2);
}
const dir = `reports/mutation/events-${name}`;
let files;
try {
  files = readdirSync(dir).filter((f) => f.endsWith('-onMutantTested.json'));
} catch {
  console.error(`no results in ${dir}: has Stryker run module ${name} since the event recorder was configured?`);
  process.exit(2);
}
const results = files.map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')));
console.log(`${name}: ${results.length} mutants tested; ${scoreOf(results)}`);
const survivors = results
  .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
  .sort((a, b) => a.fileName.localeCompare(b.fileName) || a.location.start.line - b.location.start.line);
for (const m of survivors) {
  const where = `${relative(process.cwd(), m.fileName)}:${m.location.start.line}:${m.location.start.column}`;
  console.log(`${where} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement)}`);
}
