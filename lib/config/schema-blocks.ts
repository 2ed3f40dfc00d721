/**
 * The zod building blocks of the config schemas (schema.ts, lab-schema.ts):
 * each carries its own "expected ..." message, so that zod's generic messages
 * never reach the user.
 */
import { z } from 'zod';

/**
 * A string validated by a pure function returning a reason or null. `typeError`
 * is the message for a non-string value. `redact` keeps the value out of the
 * error output when it returns true (for private keys).
 */
export function checkedString(typeError: string, check: (s: string) => string | null, redact?: (s: string) => boolean) {
  return z.string({ error: typeError }).superRefine((s, ctx) => {
    const problem = check(s);
    if (problem !== null) {
      ctx.addIssue({ code: 'custom', message: problem, input: s, params: { redact: redact?.(s) ?? false } });
    }
  });
}

/** An integer in [min, max]; one message for every way of missing it. */
export function intRange(min: number, max: number, why = '') {
  const error = `expected an integer from ${min} to ${max}${why}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/** A boolean; JSON true/false only (no "true" strings). */
export function bool() {
  return z.boolean({ error: 'expected true or false (without quotes)' });
}

/**
 * A strict object: unknown fields are rejected. The message for a non-object
 * value lists the fields; unknown fields are reported per field by the formatter.
 */
export function section<Shape extends z.ZodRawShape>(what: string, shape: Shape) {
  const fields = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'invalid_type' ? `expected ${what}: an object with the fields ${fields}` : undefined),
  });
}

/**
 * Why `p`, a file or folder path as written in the config, cannot be one,
 * or null: empty, padded with spaces, holding a control character, or longer
 * than `maxLength`. Each reason follows `expected` ("expected the path of ...").
 */
export function writtenPathProblem(expected: string, p: string, maxLength: number): string | null {
  if (p.trim() === '') return `${expected}; the path is empty`;
  if (p !== p.trim()) return `${expected}; the path starts or ends with a space or line break`;
  if (/[\u0000-\u001f\u007f]/.test(p)) return `${expected}; the path contains a control character`;
  if (p.length > maxLength) return `${expected}; the path is longer than ${maxLength} characters`;
  return null;
}

/**
 * Makes `property` of `target` a getter that throws `message`: a value only
 * the loader can fill in (it reads a file), which the schema alone must not
 * leave looking empty.
 */
export function defineUnreadGetter(target: object, property: string, message: string): void {
  Object.defineProperty(target, property, {
    configurable: true,
    enumerable: false,
    get: () => {
      throw new Error(message);
    },
  });
}
