/**
 * Validation of the pip requirement specs in `python.packages`.
 *
 * Accepts the PEP 508 subset that `pip install` accepts for a single
 * requirement:
 *
 *     name [extras] [version specifiers] [; marker]
 *     name [extras] @ https://url [ ; marker]
 *
 * e.g. `numpy`, `dask[complete]>=2024.1,<2026`, `pandas==2.2.*`,
 * `scipy (~=1.13)`, `pyarrow; platform_machine == "x86_64"`,
 * `mypkg @ https://example.org/mypkg-1.0-py3-none-any.whl`.
 *
 * Why validate at synth time at all: a bad spec otherwise fails the bootstrap
 * several minutes into `cdk deploy`, on the machine. And the specs end up in a
 * shell script, so characters that pip never accepts in a requirement (line
 * breaks, backticks, `$`, backslashes, quotes outside a marker) are refused
 * here with a reason, instead of relying only on the script's quoting.
 */

import { urlCredentialProblem } from './url-credentials';

/** A requirement split into its parts (as written, not normalized). */
export interface Requirement {
  /** The project name as written, e.g. `Dask`. */
  readonly name: string;
  /** Extras as written, e.g. `['complete']`. */
  readonly extras: readonly string[];
  /** Version specifiers, e.g. `['>=2024.1', '<2026']`; empty for a URL requirement. */
  readonly specifiers: readonly string[];
  /** The URL of a `name @ url` requirement, else `null`. */
  readonly url: string | null;
  /** The environment marker after `;`, trimmed, else `null`. */
  readonly marker: string | null;
}

/** Examples shown in every rejection, so the user sees what is accepted. */
const EXAMPLES = 'e.g. "numpy", "dask[complete]>=2024.1", "pandas==2.2.*" or "pkg @ https://host/pkg.whl"';

/** Longer than any sane requirement; keeps error messages and scripts small. */
const MAX_LENGTH = 300;

// PEP 508 names (also used for extras): letters, digits, ".", "_", "-",
// starting and ending with a letter or digit.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
const NAME_EXACT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

// PEP 440 public version (case-insensitive, with the spellings PEP 440
// normalizes: "v" prefix, alpha/beta/c/pre/preview, rev/r, separators).
const PUBLIC_VERSION =
  'v?(?:\\d+!)?\\d+(?:\\.\\d+)*' +
  '(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\\d*)?' +
  '(?:-\\d+|[-_.]?(?:post|rev|r)[-_.]?\\d*)?' +
  '(?:[-_.]?dev[-_.]?\\d*)?';
const LOCAL_VERSION = '(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?';
const VERSION = new RegExp(`^${PUBLIC_VERSION}${LOCAL_VERSION}$`, 'i');
const PREFIX_VERSION = new RegExp(`^${PUBLIC_VERSION}\\.\\*$`, 'i'); // "2.2.*", only with == and !=

// File names pip reads as a local archive rather than a project (pip's ARCHIVE_EXTENSIONS).
const ARCHIVE_NAME = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tlz|tar\.lz|tar\.lzma)$/i;

// Operators longest first, so "===" is not read as "==" followed by "=".
const SPECIFIER = /^(===|~=|==|!=|<=|>=|<|>)\s*(.*)$/;

/**
 * Why `spec` is not a requirement pip would install, or `null` if it is one.
 *
 * The reason says what was wrong and what is accepted, phrased to follow
 * "<field>: <value> is not accepted; ".
 */
export function requirementProblem(spec: string): string | null {
  const result = parse(spec);
  return typeof result === 'string' ? result : null;
}

/**
 * Splits a requirement into its parts.
 *
 * @throws Error with the reason of {@link requirementProblem} if `spec` is not valid.
 */
export function parseRequirement(spec: string): Requirement {
  const result = parse(spec);
  if (typeof result === 'string') {
    throw new Error(`${JSON.stringify(spec)} is not a valid requirement; ${result}`);
  }
  return result;
}

/**
 * PEP 503 normalized project name: pip treats `Dask`, `dask` and `DASK` (and
 * `typing_extensions` / `typing-extensions`) as the same project.
 */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The parser behind the exported functions: a Requirement or a reason. */
function parse(spec: string): Requirement | string {
  if (spec.trim() === '') {
    return `expected a pip requirement, ${EXAMPLES}; got an empty string`;
  }
  if (spec.length > MAX_LENGTH) {
    return `expected a requirement of at most ${MAX_LENGTH} characters`;
  }
  const forbidden = forbiddenCharacter(spec);
  if (forbidden !== null) {
    return `${forbidden}, which pip never accepts in a requirement; expected one requirement ${EXAMPLES}`;
  }
  if (spec !== spec.trim()) {
    return 'expected no leading or trailing spaces';
  }
  // Quotes are only valid inside a marker. (A URL cannot contain one either.)
  const beforeMarker = spec.includes(';') ? spec.slice(0, spec.indexOf(';')) : spec;
  if (/['"]/.test(beforeMarker)) {
    return quoteReason();
  }
  if (spec.startsWith('-')) {
    return 'expected a requirement, not a pip option (use python.indexUrl to choose a package index)';
  }

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    return 'expected "name @ URL" for a requirement from a URL, e.g. "pkg @ https://host/pkg-1.0-py3-none-any.whl" (VCS URLs such as git+https:// are not supported)';
  }
  const nameMatch = NAME.exec(spec);
  if (nameMatch === null) {
    return `expected the requirement to start with a project name (letters, digits, ".", "_" or "-", starting and ending with a letter or digit), ${EXAMPLES}`;
  }
  const name = nameMatch[0];
  if (ARCHIVE_NAME.test(name)) {
    // pip installs a requirement named like an archive from the disk of the machine.
    return `expected a project name, not a local file name (the machine has no such file); for a file use "name @ https://host/${name}"`;
  }
  let rest = spec.slice(name.length).trimStart();

  // Extras: "[a, b]".
  let extras: string[] = [];
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) {
      return 'expected extras to be closed with "]", e.g. "dask[complete]"';
    }
    const inner = rest.slice(1, close).trim();
    extras = inner === '' ? [] : inner.split(',').map((e) => e.trim());
    const badExtra = extras.find((e) => !NAME_EXACT.test(e));
    if (badExtra !== undefined) {
      return `expected extras to be names separated by commas, e.g. "dask[complete,diagnostics]"; ${JSON.stringify(badExtra)} is not a name`;
    }
    rest = rest.slice(close + 1).trimStart();
  }

  // URL form: "name @ https://...". PEP 508 needs whitespace before a marker
  // here, because ";" may be part of a URL.
  if (rest.startsWith('@')) {
    const afterAt = rest.slice(1).trimStart();
    const [url, ...tail] = afterAt.split(/\s+/);
    const urlProblem = checkUrl(url);
    if (urlProblem !== null) {
      return urlProblem;
    }
    const remainder = tail.join(' ');
    let marker: string | null = null;
    if (remainder !== '') {
      if (!remainder.startsWith(';')) {
        return 'expected only "; marker" after the URL of a "name @ URL" requirement';
      }
      const markerResult = checkMarker(remainder.slice(1));
      if (markerResult.problem !== null) {
        return markerResult.problem;
      }
      marker = markerResult.marker;
    }
    return { name, extras, specifiers: [], url, marker };
  }

  // Version specifiers, then an optional marker.
  const semicolon = rest.indexOf(';');
  let versionPart = (semicolon < 0 ? rest : rest.slice(0, semicolon)).trim();
  let marker: string | null = null;
  if (semicolon >= 0) {
    const markerResult = checkMarker(rest.slice(semicolon + 1));
    if (markerResult.problem !== null) {
      return markerResult.problem;
    }
    marker = markerResult.marker;
  }
  if (versionPart.startsWith('(') && versionPart.endsWith(')')) {
    versionPart = versionPart.slice(1, -1).trim(); // PEP 508 allows "name (>=1.0)"
  }
  const specifiers: string[] = [];
  if (versionPart !== '') {
    for (const raw of versionPart.split(',')) {
      const problem = checkSpecifier(raw.trim());
      if (problem !== null) {
        return problem;
      }
      specifiers.push(raw.trim());
    }
  }
  return { name, extras, specifiers, url: null, marker };
}

/** Describes the first character pip never accepts in a requirement, or null. */
function forbiddenCharacter(spec: string): string | null {
  for (const ch of spec) {
    if (ch === '\n' || ch === '\r') return 'it contains a line break';
    if (ch === '`') return 'it contains a backtick (`)';
    if (ch === '$') return 'it contains "$"';
    if (ch === '\\') return 'it contains a backslash';
    if (/[\u0000-\u001f\u007f]/.test(ch)) return 'it contains a tab or control character';
  }
  // Other shell-special characters ("|", "&", "*", ...) fail the grammar below
  // where they are not valid (e.g. "&" is fine in a URL's query string).
  return null;
}

/** The environment marker variables of PEP 508, the only names pip evaluates in a marker. */
const MARKER_VARIABLES = [
  'python_version',
  'python_full_version',
  'os_name',
  'sys_platform',
  'platform_release',
  'platform_system',
  'platform_version',
  'platform_machine',
  'platform_python_implementation',
  'implementation_name',
  'implementation_version',
  'extra',
];

/** What may stand unquoted in a marker: the variables and the operators that are words. */
const MARKER_WORDS = new Set([...MARKER_VARIABLES, 'and', 'or', 'in', 'not']);

/** The reason given for quotes outside a marker. */
function quoteReason(): string {
  return `it contains a quote; expected quotes only around values in a "; marker" (shell quoting does not belong in the JSON string), ${EXAMPLES}`;
}

/** Checks one version specifier such as ">=2024.1" or "==2.2.*". */
function checkSpecifier(text: string): string | null {
  const expected = `expected version specifiers such as ">=2024.1", "==2.2.*", "~=1.26" or ">=1,<2" (operators ~= == != <= >= < > ===)`;
  const match = SPECIFIER.exec(text);
  if (match === null) {
    if (/^=[^=]/.test(text)) {
      return `${expected}; use "==" instead of "=" for an exact version`;
    }
    return `${expected}; ${JSON.stringify(text)} is not one`;
  }
  const [, op, version] = match;
  if (version === '') {
    return `${expected}; "${op}" has no version`;
  }
  if (op === '===') {
    // Arbitrary equality compares strings; pip accepts anything without spaces.
    return /\s/.test(version) ? `${expected}; ${JSON.stringify(text)} contains a space` : null;
  }
  if ((op === '==' || op === '!=') && PREFIX_VERSION.test(version)) {
    return null;
  }
  if (!VERSION.test(version)) {
    const hint = version.endsWith('.*') ? ` ("${op}" cannot take a ".*" version; only == and != can)` : '';
    return `${expected}; ${JSON.stringify(version)} is not a PEP 440 version${hint}`;
  }
  if (op === '~=' && !/^v?(?:\d+!)?\d+\.\d+/i.test(version)) {
    return `${expected}; "~=" needs at least two release numbers, e.g. "~=1.26"`;
  }
  if (version.includes('+') && op !== '==' && op !== '!=') {
    return `${expected}; a local version ("+...") is only allowed with == and !=`;
  }
  return null;
}

/**
 * Checks an environment marker loosely: not the full PEP 508 grammar, but
 * non-empty, balanced quotes, and only marker characters outside quoted values.
 */
function checkMarker(text: string): { marker: string | null; problem: string | null } {
  const marker = text.trim();
  const expected = 'expected an environment marker after ";", e.g. "; platform_machine == \\"x86_64\\""';
  if (marker === '') {
    return { marker: null, problem: `${expected}; the marker is empty` };
  }
  let i = 0;
  while (i < marker.length) {
    const ch = marker[i];
    if (ch === '"' || ch === "'") {
      const end = marker.indexOf(ch, i + 1);
      if (end < 0) {
        return { marker: null, problem: `${expected}; a quote is not closed` };
      }
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z0-9_.\s()<>=!~]/.test(ch)) {
      return { marker: null, problem: `${expected}; ${JSON.stringify(ch)} does not belong in a marker` };
    }
    i += 1;
  }
  // Every marker compares something: "python_version >= '3.12'", "extra in ...".
  const unquoted = marker.replace(/(["'])[^"']*\1/g, '""');
  const unknown = (unquoted.match(/[A-Za-z_][A-Za-z0-9_.]*/g) ?? []).find((word) => !MARKER_WORDS.has(word));
  if (unknown !== undefined) {
    return {
      marker: null,
      problem: `${expected}; ${JSON.stringify(unknown)} is not a marker variable (${[...MARKER_VARIABLES].join(', ')}; values in quotes)`,
    };
  }
  if (!/(===|==|!=|<=|>=|~=|<|>|\bin\b)/.test(unquoted)) {
    return { marker: null, problem: `${expected}; the marker compares nothing` };
  }
  return { marker, problem: null };
}

/** Checks the URL of a "name @ URL" requirement. */
function checkUrl(url: string): string | null {
  const expected = 'expected an https:// URL of a file after "@", e.g. "pkg @ https://host/pkg-1.0-py3-none-any.whl"';
  if (url === '' || !/^https:\/\//i.test(url)) {
    // Plain http (and git+http) would install code anyone on the path could swap;
    // VCS and file: URLs name nothing the machine can fetch as a file over https.
    return `${expected}; not http://, file: or a VCS URL such as git+https://`;
  }
  if (/['"<>{}|^]/.test(url)) {
    return `${expected}; the URL contains a character that must be percent-encoded`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${expected}; ${JSON.stringify(url)} is not a valid URL`;
  }
  const credential = urlCredentialProblem(parsed, { hashFragment: true });
  return credential === null ? null : `${expected}, ${credential}`;
}

/** True if the error output must not echo `spec`: its URL may hold a credential. */
export function requirementHoldsCredential(spec: string): boolean {
  const at = spec.indexOf('@');
  if (at < 0) return false;
  const url = spec.slice(at + 1).trim().split(/\s+/)[0];
  return URL.canParse(url) && urlCredentialProblem(new URL(url), { hashFragment: true }) !== null;
}
