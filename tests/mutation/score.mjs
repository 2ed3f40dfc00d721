/**
 * A Stryker run's score as Stryker counts it: timeouts are detected, mutants
 * that do not compile (or that fail at load) are left out.
 */
export function scoreOf(mutants) {
  const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
  const detected = count('Killed', 'Timeout');
  const valid = detected + count('Survived', 'NoCoverage');
  const percent = valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)} %`;
  return `${percent} killed (${detected} of ${valid}; ${count('CompileError')} not compiling)`;
}
