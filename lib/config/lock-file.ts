/**
 * `python.lockFile`: a pip requirements file that pins every package of the
 * app's venv with its hashes, as `pip-compile --generate-hashes` or
 * `uv pip compile --generate-hashes` write it. Every machine installs exactly
 * it with pip's hash-checking mode (`pip install --require-hashes -r`), so
 * the app's version set is the file itself and no package is downloaded that
 * does not match a hash the user committed.
 *
 * Read and checked at synth, against what the app asks for: every project of
 * python.packages, of the course's requirements.txt and of JupyterLab (where
 * it runs) must be pinned there, at a version its specifiers allow. Whether
 * the file holds every dependency of those (a closed set) only pip can tell,
 * with the index at hand: on the machine, hash-checking mode refuses a
 * dependency the file does not pin, and the bootstrap fails naming it.
 *
 * https://pip.pypa.io/en/stable/topics/secure-installs/ (hash-checking mode)
 * https://pip.pypa.io/en/stable/reference/requirements-file-format/
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { satisfies } from '@renovatebot/pep440';
import { ConfigError, formatValue } from './errors';
import { normalizeProjectName, parseRequirement, requirementHoldsCredential, requirementProblem } from './requirement';
import { writtenPathProblem } from './schema-blocks';

/** Largest lock file read: a lock of dask[complete] with every platform's hashes is about 60 KB. */
export const MAX_LOCK_FILE_BYTES = 1024 * 1024;

/** Longest path of the file, as written. */
const MAX_LOCK_PATH_LENGTH = 1024;

/** The hash algorithms pip's hash-checking mode accepts, with their hex digest lengths (pip's STRONG_HASHES). */
const HASH_HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const LOCK_EXPECTED =
  'expected the path of a pip lock file (name==version lines, each with --hash=sha256:..., as "pip-compile --generate-hashes" writes), relative to the config file, e.g. "requirements.lock", or null for none';

/** A project the lock file pins. */
export interface LockedPackage {
  /** PEP 503 normalized name, e.g. `typing-extensions`. */
  readonly project: string;
  /** The pinned version, e.g. `2024.12.1`. */
  readonly version: string;
  /** The line of the file its requirement starts on. */
  readonly line: number;
  /** Its environment marker, e.g. `python_version >= "3.10"`, else null. */
  readonly marker: string | null;
}

/** What the loader read in `python.lockFile`. */
export interface PythonLockFile {
  /** The file, absolute. */
  readonly file: string;
  /** sha256 of its bytes, hex: part of the version set's name and of the machines' user data. */
  readonly sha256: string;
  /** The pinned projects, in file order. */
  readonly packages: readonly LockedPackage[];
}

/** What the app asks pip for, which the lock file must pin. */
export interface LockedRequirements {
  /** python.packages. */
  readonly packages: readonly string[];
  /** The course's requirements.txt (lab.materials), if any. */
  readonly courseRequirements?: readonly string[];
  /** JupyterLab's packages, where any machine of the app runs JupyterLab. */
  readonly jupyterPackages?: readonly string[];
}

/** Why `p` cannot be the path of a lock file, or null. (The file itself is read by {@link loadLockFile}.) */
export function lockFilePathProblem(p: string): string | null {
  return writtenPathProblem(LOCK_EXPECTED, p, MAX_LOCK_PATH_LENGTH);
}

/**
 * Reads and checks the lock file, and that it pins what the app asks for.
 *
 * @param written `python.lockFile` as written
 * @param configDir the directory a relative path is resolved from: the config file's
 * @throws ConfigError with one line per problem, each naming `python.lockFile`, the line and what is accepted
 */
export function loadLockFile(written: string, configDir: string, wanted: LockedRequirements): PythonLockFile {
  const file = path.resolve(configDir, written);
  const problem = (reason: string) => `python.lockFile: ${formatValue(written)} is not accepted; ${reason}`;
  const fail = (reasons: string[]): never => {
    throw new ConfigError(`Cannot use the lock file ${file}`, reasons.map(problem));
  };
  let bytes: Buffer;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return fail([`expected a lock file; ${file} is not a regular file`]);
    if (stat.size > MAX_LOCK_FILE_BYTES) return fail([`expected a lock file of at most ${MAX_LOCK_FILE_BYTES / 1024} KiB; ${file} has ${stat.size.toLocaleString('en-US')} bytes`]);
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const relative = path.isAbsolute(written) ? '' : ' (a relative path is read from the config file\'s directory)';
    return fail([
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `expected a lock file; not found: ${file}${relative}`
        : `expected a lock file; ${file} cannot be read (${(err as Error).message})`,
    ]);
  }
  const text = utf8TextOf(bytes);
  if (typeof text !== 'string') return fail([text.problem]);
  const parsed = parseLockFile(text);
  const reasons = [...parsed.problems];
  if (parsed.problems.length === 0) reasons.push(...unlockedRequirements(parsed.packages, wanted));
  if (reasons.length > 0) fail(reasons);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), packages: parsed.packages };
}

/**
 * The projects a lock file's text pins, and why each line that is not a
 * hashed pin cannot be installed in hash-checking mode.
 */
export function parseLockFile(text: string): { packages: LockedPackage[]; problems: string[] } {
  const packages: LockedPackage[] = [];
  const problems: string[] = [];
  const firstLine = new Map<string, { line: number; marker: string | null }>();
  for (const { line, text: logical } of logicalLines(text)) {
    const shown = requirementHoldsCredential(logical) || /:\/\/[^/\s]*@/.test(logical) ? '(not shown: it holds a credential)' : formatValue(shorten(logical));
    const refuse = (reason: string) => problems.push(`line ${line} ${shown}: ${reason}`);
    if (problems.length >= 20) {
      problems.push('(further lines not checked)');
      break;
    }
    const { requirement, hashes, options } = splitOptions(logical);
    if (requirement === '') {
      refuse(
        options.length === 0
          ? `expected a pinned requirement with its hashes; a line of --hash options alone is not accepted (is there a space after the "\\" that ends line ${line - 1}?)`
          : `expected a pinned requirement with its hashes; pip options on a line of their own (${options.join(', ')}) are not accepted: the package index is python.indexUrl or python.codeArtifact ` +
              '(pip-compile leaves index lines out with --no-emit-index-url --no-emit-trusted-host; uv leaves them out unless asked)',
      );
      continue;
    }
    if (options.length > 0) {
      refuse(`expected only --hash options after a requirement; ${options.join(', ')} is not accepted`);
      continue;
    }
    const reqProblem = requirementProblem(requirement);
    if (reqProblem !== null) {
      refuse(reqProblem);
      continue;
    }
    const parsed = parseRequirement(requirement);
    const pin = parsed.specifiers.length === 1 ? /^(===|==)\s*([^*\s]+)$/.exec(parsed.specifiers[0]) : null;
    if (parsed.url !== null || pin === null) {
      refuse('expected a version pinned with == (e.g. "dask==2024.12.1"), as pip\'s hash-checking mode requires of every requirement');
      continue;
    }
    const badHash = hashes.find((h) => !validHash(h));
    if (hashes.length === 0 || badHash !== undefined) {
      refuse(
        badHash === undefined
          ? 'expected at least one --hash=sha256:<64 hex digits> (pip-compile --generate-hashes writes them); pip\'s hash-checking mode refuses a requirement without one'
          : `expected hashes of the form sha256:<64 hex digits> (or sha384, sha512); ${formatValue(badHash)} is not one`,
      );
      continue;
    }
    const project = normalizeProjectName(parsed.name);
    const earlier = firstLine.get(project);
    // A project may be pinned twice only under different environment markers (one per platform, say).
    const marker = parsed.marker === null ? null : parsed.marker.replace(/\s+/g, '').replace(/'/g, '"');
    if (earlier !== undefined && (earlier.marker === null || marker === null || earlier.marker === marker)) {
      refuse(`expected each project once (or once per environment marker); "${project}" is already pinned on line ${earlier.line}`);
      continue;
    }
    firstLine.set(project, { line, marker });
    packages.push({ project, version: pin[2], line, marker: parsed.marker });
  }
  if (problems.length === 0 && packages.length === 0) problems.push('expected at least one pinned requirement; the file has none');
  return { packages, problems };
}

/** Why the app's requirements are not met by the lock's pins: one reason per requirement. */
export function unlockedRequirements(locked: readonly LockedPackage[], wanted: LockedRequirements): string[] {
  const pins = new Map<string, LockedPackage[]>();
  for (const pin of locked) pins.set(pin.project, [...(pins.get(pin.project) ?? []), pin]);
  const sources: Array<[string, readonly string[] | undefined]> = [
    ['python.packages', wanted.packages],
    ['the course\'s requirements.txt', wanted.courseRequirements],
    ['JupyterLab (lab.jupyter or cluster.jupyter)', wanted.jupyterPackages],
  ];
  const reasons: string[] = [];
  for (const [source, specs] of sources) {
    for (const spec of specs ?? []) {
      if (requirementProblem(spec) !== null) continue; // reported by the field's own check
      const requirement = parseRequirement(spec);
      // A requirement under an environment marker may not apply to the machines at all (pip skips it
      // there, and a lock made on Linux leaves it out): pip on the machine judges it.
      if (requirement.marker !== null) continue;
      const project = normalizeProjectName(requirement.name);
      const found = pins.get(project);
      if (requirement.url !== null) {
        reasons.push(`${source} names ${formatValue(spec)}, a URL requirement: with a lock file, name the project (and pin it in the lock file) instead`);
      } else if (found === undefined) {
        reasons.push(`${source} names ${formatValue(spec)}, which the lock file does not pin (regenerate the lock file from the same requirements)`);
      } else if (requirement.specifiers.length > 0) {
        const range = requirement.specifiers.join(',');
        // An explicit pin of a pre-release is installed (pip) and accepted (the bootstrap's verify).
        const allowed = (pin: LockedPackage) => satisfies(pin.version, range, { prereleases: true });
        // Pins under markers are alternatives (one per Python version, say): one of them must be allowed;
        // an unconditional pin must be.
        const unconditional = found.filter((pin) => pin.marker === null);
        const outside = unconditional.length > 0 ? unconditional.filter((pin) => !allowed(pin)) : found.some(allowed) ? [] : found;
        if (outside.length > 0) {
          reasons.push(`${source} asks for ${formatValue(spec)}; the lock file pins ${requirement.name}==${outside[0].version} (line ${outside[0].line}), which ${range} does not allow`);
        }
      }
    }
  }
  return reasons;
}

/** The file's logical lines: comments dropped, `\` continuations joined, each with the line it starts on. */
function logicalLines(text: string): Array<{ line: number; text: string }> {
  const result: Array<{ line: number; text: string }> = [];
  let pending: { line: number; text: string } | undefined;
  text
    .replace(/^\ufeff/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      // pip joins a line ending in "\" with the next before it strips comments, unless the line is a comment
      // (pip's req_file.join_lines): a comment ending in "\" hides nothing.
      const continued = raw.endsWith('\\') && !/^\s*#/.test(raw);
      const part = continued ? raw.slice(0, -1) : raw;
      pending = pending === undefined ? { line: i + 1, text: part } : { line: pending.line, text: `${pending.text} ${part}` };
      if (continued) return;
      // pip's comments: "#" at the start of a line or after whitespace.
      const logical = pending.text.replace(/(^|\s)#.*$/, '').trim();
      if (logical !== '') result.push({ line: pending.line, text: logical });
      pending = undefined;
    });
  if (pending !== undefined) {
    const logical = pending.text.replace(/(^|\s)#.*$/, '').trim();
    if (logical !== '') result.push({ line: pending.line, text: logical });
  }
  return result;
}

/** A logical line split into its requirement, its `--hash` values and any other option. */
function splitOptions(line: string): { requirement: string; hashes: string[]; options: string[] } {
  const tokens = line.split(/\s+/);
  const firstOption = tokens.findIndex((t) => t.startsWith('-'));
  const requirement = (firstOption === -1 ? tokens : tokens.slice(0, firstOption)).join(' ');
  const hashes: string[] = [];
  const options: string[] = [];
  const rest = firstOption === -1 ? [] : tokens.slice(firstOption);
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (token.startsWith('--hash=')) hashes.push(token.slice('--hash='.length));
    else if (token === '--hash' && i + 1 < rest.length) hashes.push(rest[++i]);
    else if (token.startsWith('-')) options.push(token.split('=')[0]);
  }
  return { requirement, hashes, options };
}

/** The file's text, or why it is not UTF-8 text (a UTF-16 file, as PowerShell 5 writes with ">", say). */
function utf8TextOf(bytes: Buffer): string | { problem: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { problem: 'expected a UTF-8 text file; it is UTF-16 (save it as UTF-8, e.g. with pip-compile\'s own output file, -o)' };
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { problem: 'expected a UTF-8 text file; it holds bytes that are not UTF-8' };
  }
}

function validHash(hash: string): boolean {
  const [algorithm, digest, ...extra] = hash.split(':');
  const length = HASH_HEX_LENGTHS[algorithm];
  return extra.length === 0 && length !== undefined && digest !== undefined && digest.length === length && /^[0-9a-f]+$/i.test(digest);
}

function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
