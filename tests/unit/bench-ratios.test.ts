/**
 * The bench prints the cold bootstrap against the hand sequence of the same
 * run, with the goal it is held to, and the README's generated block says the
 * same.
 */
import { renderBenchmarks } from '../bench/render-markdown';
import { BenchResults, readCommittedResults } from '../bench/results';
import { formatTwinSection, RATIO_GOALS, TwinSection } from '../bench/twin-section';

function twinSection(machineSeconds: number, bootstrapSeconds: number): TwinSection {
  return {
    errors: [],
    deviations: [],
    buildSeconds: { rootfs: 0, indexes: 0 },
    machine: { logicalId: 'MachineInstance', role: 'standalone', status: 'SUCCESS', seconds: machineSeconds, bootstrapSeconds, bootSeconds: machineSeconds - bootstrapSeconds, phases: { apt: 9, 'apt-tools': 12, venv: 8 } },
    manual: {
      bootSeconds: 6,
      steps: [{ typed: 'sudo apt-get update', seconds: 94, ok: true, exitCode: 0 }],
      commandsSeconds: 94,
      totalSeconds: 100,
      check: { ok: true, output: '' },
    },
    ratio: { endToEnd: machineSeconds / 100, work: bootstrapSeconds / 94 },
  };
}

describe('the cold bootstrap against the hand sequence', () => {
  test('the goal is 0.75 of the hand sequence', () => {
    expect(RATIO_GOALS.coldBootstrap).toBe(0.75);
  });

  test('the bench prints the ratio with its goal, and says when it is met', () => {
    // GIVEN a run in which the bootstrap took 0.6 of the hand sequence
    const met = formatTwinSection(twinSection(60, 50));
    // THEN it prints the ratio, the goal and that it is met
    expect(met).toContain('cold bootstrap / hand sequence: 0.6 end to end (goal ≤ 0.75: met)');
    // AND a run above the goal says so
    expect(formatTwinSection(twinSection(80, 70))).toContain('cold bootstrap / hand sequence: 0.8 end to end (goal ≤ 0.75: NOT met)');
  });

  test('a baked machine is held to 0.4 of the hand sequence, and the bench says when it is met', () => {
    expect(RATIO_GOALS.bakedMachine).toBe(0.4);
    const section = (baked: number): TwinSection => ({ ...twinSection(60, 50), ratio: { endToEnd: 0.6, work: 50 / 94, baked } });
    expect(formatTwinSection(section(0.32))).toContain('baked image / hand sequence: 0.32 end to end (goal ≤ 0.4: met)');
    expect(formatTwinSection(section(0.5))).toContain('baked image / hand sequence: 0.5 end to end (goal ≤ 0.4: NOT met)');
  });

  test('the README states the ratio of the committed run against its goal', () => {
    // GIVEN the committed results, with the twin's figures
    const results = readCommittedResults() as BenchResults;
    expect(results.twin?.ratio?.endToEnd).toBeDefined();
    // THEN the README's block states it, with the goal
    expect(renderBenchmarks(results)).toContain(`Cold bootstrap / hand sequence: **${results.twin!.ratio!.endToEnd}** end to end (goal ≤ 0.75)`);
  });
});
