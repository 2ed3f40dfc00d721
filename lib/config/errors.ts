/**
 * Config errors and the formatter that turns zod issues into one readable line
 * per problem:
 *
 *     machine.diskGiB: 5 is not accepted; expected an integer from 8 to 16384
 *
 * The schema (schema.ts) supplies the part after "; " for each check; this file
 * adds the field path and the offending value, and splits zod's single
 * "unrecognized keys" issue into one line per unknown field with a suggestion.
 */
import { z } from 'zod';

/** Longest rendering of a bad value in a message, so a huge value cannot drown the rest. */
const MAX_VALUE_LENGTH = 60;

/**
 * The config (or the file holding it) is not acceptable. `message` lists every
 * problem, one per line; `problems` holds the same lines for programmatic use.
 */
export class ConfigError extends Error {
  /** One line per problem, each naming the field, the bad value and what is accepted. */
  readonly problems: string[];

  /**
   * @param heading what could not be used, e.g. "Invalid dasklab config /x/dasklab.config.json"
   * @param problems one line per problem
   */
  constructor(heading: string, problems: string[]) {
    super([`${heading}:`, ...problems.map((p) => `  ${p}`)].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * One message line per problem in `issues`, in the order zod found them.
 *
 * @param issues the issues of a failed `schema.safeParse(input)`
 * @param input the value that was parsed (to show the bad values)
 * @param schema the schema that was parsed with (to list the accepted fields of an object)
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown, schema: z.ZodType): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const accepted = fieldsAt(schema, path);
      const owner = path.length === 0 ? 'the top level' : formatPath(path);
      for (const key of issue.keys) {
        const suggestion = closest(key, accepted);
        const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
        lines.push(line([...path, key], valueAt(input, [...path, key]), `unknown field${hint}; expected one of the fields of ${owner}: ${accepted.join(', ')}`));
      }
      continue;
    }
    const redact = issue.code === 'custom' && issue.params?.redact === true;
    lines.push(line(path, redact ? REDACTED : valueAt(input, path), issue.message));
  }
  // Two checks may say the same of one value (1e308 is neither an integer nor small enough).
  return [...new Set(lines)];
}

/** Marker for a value that must not be echoed (a private key pasted by mistake). */
const REDACTED = Symbol('redacted');

/** One problem line: "<path>: <value> is not accepted; <message>", invisible characters escaped throughout. */
function line(path: readonly (string | number)[], value: unknown, message: string): string {
  return lineText(path, value, message).replace(INVISIBLE, escapeCharacter);
}

function lineText(path: readonly (string | number)[], value: unknown, message: string): string {
  const where = path.length === 0 ? '(top level)' : formatPath(path);
  if (value === REDACTED) {
    return `${where}: the value (not shown) is not accepted; ${message}`;
  }
  if (value === undefined) {
    return `${where}: is missing; ${message}`;
  }
  return `${where}: ${formatValue(value)} is not accepted; ${message}`;
}

/** `machine.diskGiB`, `access.sshCidrs[1]`; odd keys quoted: `["my key"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((p, i) => {
      if (typeof p === 'number') return `[${p}]`;
      if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(p)) return i === 0 ? p : `.${p}`;
      return `[${JSON.stringify(p)}]`;
    })
    .join('');
}

/**
 * Characters JSON leaves as they are but a terminal acts on or hides: C1
 * controls, line and paragraph separators, format characters (bidi overrides,
 * zero-width), private-use, unassigned and lone surrogates.
 */
const INVISIBLE = /[\u007f-\u009f\u2028\u2029]|[\p{Cf}\p{Co}\p{Cn}\p{Cs}]/gu;

/** `\u202e` for a character: how JSON would write it if it escaped it. */
function escapeCharacter(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** The value as JSON with invisible characters escaped, cut to about {@link MAX_VALUE_LENGTH} characters. */
export function formatValue(value: unknown): string {
  const json = (JSON.stringify(value) ?? String(value)).replace(INVISIBLE, escapeCharacter);
  return json.length <= MAX_VALUE_LENGTH ? json : `${json.slice(0, MAX_VALUE_LENGTH - 3)}...`;
}

/** The value at `path` inside `input`, or undefined if the path does not exist. */
function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, key)) {
      return undefined;
    }
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/**
 * Field names of the object schema at `path`, looking through the wrappers
 * (default, prefault, optional, nullable) and into arrays. Zod 4 keeps
 * refinements inside the schema itself, so no other wrapper can occur here.
 */
function fieldsAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    let inner = s;
    for (;;) {
      const def = inner._zod.def as { type: string; innerType?: z.core.$ZodType };
      if (def.innerType === undefined) return inner;
      inner = def.innerType;
    }
  };
  for (const key of path) {
    if (current === undefined) return [];
    const def = unwrap(current)._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    current = typeof key === 'number' ? def.element : def.shape?.[key];
  }
  if (current === undefined) return [];
  const def = unwrap(current)._zod.def as { shape?: Record<string, unknown> };
  return Object.keys(def.shape ?? {});
}

/** The accepted field closest to a misspelled one (case, or up to 2 edits), if any. */
function closest(key: string, accepted: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameIgnoringCase = accepted.find((a) => a.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  let best: string | undefined;
  let bestDistance = 3;
  for (const a of accepted) {
    const d = editDistance(lower, a.toLowerCase());
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance; the strings are field names, so the quadratic cost is nothing. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
