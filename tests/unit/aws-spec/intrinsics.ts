/**
 * CloudFormation intrinsic functions resolved to the strings they will be at
 * deploy time, as far as synth can know them: pseudo parameters get the values
 * of one example environment, everything else (a resource's id or attribute,
 * a parameter, an import) stays unknown.
 *
 * Used to match policy resources against IAM's ARN formats and import names
 * against export names.
 */

/** Values of the pseudo parameters in the example environment. */
export const EXAMPLE_PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'example-stack',
};

/** A part of a resolved string that synth cannot know (a resource id, an attribute, an import). */
export const UNKNOWN = Symbol('unknown at synth');

/** A string as literal parts and unknown parts, in order. */
export type ResolvedString = ReadonlyArray<string | typeof UNKNOWN>;

/** True for a value written as one intrinsic function (`{"Ref": ...}`, `{"Fn::Join": ...}`). */
export function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0].startsWith('Fn::'));
}

/**
 * The string `value` resolves to, or undefined when it is not a string at all
 * (a list, a number, an object that is no intrinsic function).
 */
export function resolveString(value: unknown, pseudo: Readonly<Record<string, string>> = EXAMPLE_PSEUDO_PARAMETERS): ResolvedString | undefined {
  if (typeof value === 'string') {
    return [value];
  }
  if (!isIntrinsic(value)) {
    return undefined;
  }
  const [fn, args] = Object.entries(value)[0];
  switch (fn) {
    case 'Ref':
      return typeof args === 'string' && Object.hasOwn(pseudo, args) ? [pseudo[args]] : [UNKNOWN];
    case 'Fn::Join': {
      if (!Array.isArray(args) || typeof args[0] !== 'string' || !Array.isArray(args[1])) {
        return [UNKNOWN];
      }
      const [separator, items] = args as [string, unknown[]];
      const parts: Array<string | typeof UNKNOWN> = [];
      items.forEach((item, i) => {
        if (i > 0) parts.push(separator);
        parts.push(...(resolveString(item, pseudo) ?? [UNKNOWN]));
      });
      return normalize(parts);
    }
    case 'Fn::Sub': {
      const [text, variables] = Array.isArray(args) ? (args as [unknown, Record<string, unknown>?]) : [args, undefined];
      if (typeof text !== 'string') {
        return [UNKNOWN];
      }
      return normalize(substitute(text, variables ?? {}, pseudo));
    }
    default:
      // Fn::GetAtt, Fn::ImportValue, Fn::Select, Fn::If, ...: known only at deploy time.
      return [UNKNOWN];
  }
}

/** The parts of an Fn::Sub string. `${!Literal}` is the literal `${Literal}`. */
function substitute(text: string, variables: Record<string, unknown>, pseudo: Readonly<Record<string, string>>): Array<string | typeof UNKNOWN> {
  const parts: Array<string | typeof UNKNOWN> = [];
  let rest = text;
  for (let match = /\$\{([^}]*)\}/.exec(rest); match; match = /\$\{([^}]*)\}/.exec(rest)) {
    parts.push(rest.slice(0, match.index));
    const name = match[1];
    if (name.startsWith('!')) {
      parts.push(`\${${name.slice(1)}}`);
    } else if (Object.hasOwn(variables, name)) {
      parts.push(...(resolveString(variables[name], pseudo) ?? [UNKNOWN]));
    } else if (Object.hasOwn(pseudo, name)) {
      parts.push(pseudo[name]);
    } else {
      parts.push(UNKNOWN);
    }
    rest = rest.slice(match.index + match[0].length);
  }
  parts.push(rest);
  return parts;
}

/** Joins adjacent literals and drops empty ones. */
function normalize(parts: ReadonlyArray<string | typeof UNKNOWN>): ResolvedString {
  const out: Array<string | typeof UNKNOWN> = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part === '') continue;
    if (typeof part === 'string' && typeof last === 'string') {
      out[out.length - 1] = last + part;
    } else {
      out.push(part);
    }
  }
  return out;
}

/** The resolved string if every part is known, else undefined. */
export function literalOf(resolved: ResolvedString | undefined): string | undefined {
  if (resolved === undefined || resolved.some((p) => p === UNKNOWN)) {
    return undefined;
  }
  return resolved.join('');
}

/** For messages: unknown parts shown as `{?}`. */
export function describeResolved(resolved: ResolvedString): string {
  return resolved.map((p) => (p === UNKNOWN ? '{?}' : p)).join('');
}
