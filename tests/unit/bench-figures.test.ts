/**
 * The README's benchmark and cost figures come from the committed bench
 * results (tests/bench/latest-results.json), never typed by hand.
 */
import * as fs from 'fs';
import * as path from 'path';
import { README_BEGIN, README_END, renderBenchmarks, withFigures } from '../bench/render-markdown';
import { readCommittedResults } from '../bench/results';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README benchmark figures', () => {
  const results = readCommittedResults();

  test('the committed results say when, on what and at which commit they were measured', () => {
    expect(results).toBeDefined();
    expect(results!.schema).toBe('dasklab-bench/1');
    expect(new Date(results!.startedAt).getTime()).not.toBeNaN();
    expect(results!.host.commit).toMatch(/^[0-9a-f]{7,}/);
    expect(results!.host.cpus).toBeGreaterThan(0);
    expect(results!.host.cpuModel).not.toBe('');
  });

  test('the README\'s generated block is exactly what the committed results render to', () => {
    // GIVEN the committed results WHEN rendered THEN the README holds that block, unchanged
    expect(withFigures(README, renderBenchmarks(results!))).toBe(README);
  });

  test('outside the generated block, the Benchmarks section states no figure of its own', () => {
    const section = README.slice(README.indexOf('## Benchmarks'), README.indexOf('\n## ', README.indexOf('## Benchmarks') + 1));
    const prose = section.slice(0, section.indexOf(README_BEGIN)) + section.slice(section.indexOf(README_END) + README_END.length);
    // Numbers inside code spans (file names, commands) are not figures.
    expect(prose.replace(/`[^`]*`/g, '').match(/\d+(\.\d+)?/g)).toBeNull();
  });
});
