/**
 * Whether a policy's Resource entry can name a resource of an IAM resource
 * type: some ARN must match both the entry (with its `*`/`?` wildcards and
 * the parts synth cannot know) and the type's ARN format (whose `${Variable}`
 * parts are any text).
 */
import { ResolvedString, UNKNOWN } from './intrinsics';

/** A pattern as tokens: literal characters, `*` (any text) and `?` (one character). */
type Token = { readonly literal: string } | 'any' | 'one';

/** Tokens of a policy Resource entry: its wildcards, and unknown parts as any text. */
export function resourceEntryTokens(resolved: ResolvedString): Token[] {
  return resolved.flatMap((part): Token[] =>
    part === UNKNOWN ? ['any'] : [...part].map((c): Token => (c === '*' ? 'any' : c === '?' ? 'one' : { literal: c })),
  );
}

/** Tokens of an IAM ARN format: `${Variable}` parts as any text. */
export function arnFormatTokens(format: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < format.length; ) {
    if (format.startsWith('${', i)) {
      const end = format.indexOf('}', i);
      tokens.push('any');
      i = end < 0 ? format.length : end + 1;
    } else {
      tokens.push({ literal: format[i] });
      i += 1;
    }
  }
  return tokens;
}

/**
 * True if some string matches both patterns. A memoized walk over both token
 * lists: `any` may match nothing or swallow one token (or character) of the
 * other side.
 */
export function patternsIntersect(a: readonly Token[], b: readonly Token[]): boolean {
  const memo = new Map<number, boolean>();
  const width = b.length + 1;
  const walk = (i: number, j: number): boolean => {
    const key = i * width + j;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    if (i === a.length && j === b.length) {
      result = true;
    } else if (i < a.length && a[i] === 'any') {
      result = walk(i + 1, j) || (j < b.length && walk(i, j + 1));
    } else if (j < b.length && b[j] === 'any') {
      result = walk(i, j + 1) || (i < a.length && walk(i + 1, j));
    } else if (i === a.length || j === b.length) {
      result = false;
    } else {
      const x = a[i];
      const y = b[j];
      result = (x === 'one' || y === 'one' || (x as { literal: string }).literal === (y as { literal: string }).literal) && walk(i + 1, j + 1);
    }
    memo.set(key, result);
    return result;
  };
  return walk(0, 0);
}

/**
 * Tokens split into an ARN's six segments at its first five literal colons
 * (arn, partition, service, region, account, resource), or undefined when
 * there are fewer.
 */
function segmentsOf(tokens: readonly Token[]): Token[][] | undefined {
  const segments: Token[][] = [[]];
  for (const token of tokens) {
    if (segments.length < 6 && typeof token === 'object' && token.literal === ':') {
      segments.push([]);
    } else {
      segments[segments.length - 1].push(token);
    }
  }
  return segments.length === 6 ? segments : undefined;
}

/**
 * True if the Resource entry can name a resource with this ARN format. IAM
 * matches an ARN segment by segment, so a wildcard or variable stays within
 * its segment (only the resource segment, the last, may hold colons).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 */
export function entryMatchesFormat(resolved: ResolvedString, format: string): boolean {
  const entry = resourceEntryTokens(resolved);
  const formatTokens = arnFormatTokens(format);
  const entrySegments = segmentsOf(entry);
  const formatSegments = segmentsOf(formatTokens);
  if (!entrySegments || !formatSegments) {
    return patternsIntersect(entry, formatTokens);
  }
  return entrySegments.every((segment, i) => patternsIntersect(segment, formatSegments[i]));
}

/** True if the entry is all wildcard or all unknown: it says nothing about the resource type. */
export function isUnconstrained(resolved: ResolvedString): boolean {
  return resourceEntryTokens(resolved).every((t) => t === 'any');
}
