import { ConfigError, validateConfig } from '../../lib/config';

/** The ConfigError that validating `input` throws (the test fails if none). */
export function configErrorOf(input: unknown, configDir?: string): ConfigError {
  try {
    validateConfig(input, undefined, configDir);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(input)}`);
}

/**
 * The single problem line for `field`, asserting that it is the only problem,
 * that it names the field and that it contains every fragment.
 */
export function expectOneProblem(input: unknown, field: string, ...fragments: string[]): string {
  const { problems } = configErrorOf(input);
  expect(problems).toHaveLength(1);
  const [line] = problems;
  expect(line.startsWith(`${field}: `)).toBe(true);
  for (const fragment of fragments) {
    expect(line).toContain(fragment);
  }
  return line;
}
