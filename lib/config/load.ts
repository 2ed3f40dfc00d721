/**
 * Reading the config: which file, parsing its JSON, validating it against
 * {@link ConfigSchema}, reading the lab roster file it names. Every failure is a
 * {@link ConfigError} whose message the app prints before exiting non-zero, so
 * `cdk synth` fails before any construct is built.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, formatIssues } from './errors';
import { CourseMaterials, loadCourseMaterials, materialsPathProblem } from './course-materials';
import { loadLockFile, lockFilePathProblem, PythonLockFile } from './lock-file';
import { JUPYTER_PACKAGES } from '../machine/jupyter-lab';
import { rosterPathProblem } from './lab-schema';
import { loadRoster, Student } from './roster';
import { ConfigSchema, DasklabConfig } from './schema';

/** Largest config file read: far above any real config, far below what could exhaust memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** File name of the default config, at the repository root. */
export const DEFAULT_CONFIG_FILE = 'dasklab.config.json';

/** The repository root: this file lives in `lib/config/`. */
const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * The config file to read.
 *
 * @param contextValue the CDK context value `config` (`cdk synth -c config=FILE`),
 *   undefined when not given
 * @param cwd the directory a relative `FILE` is resolved against (the directory
 *   `cdk` was run in)
 * @returns an absolute path: `FILE` resolved against `cwd`, or
 *   `dasklab.config.json` at the repository root when no `config` was given
 * @throws ConfigError if the context value is given but is not a non-empty string
 */
export function resolveConfigPath(contextValue: unknown, cwd: string): string {
  if (contextValue === undefined || contextValue === null) {
    return path.join(REPO_ROOT, DEFAULT_CONFIG_FILE);
  }
  if (typeof contextValue !== 'string' || contextValue.trim() === '') {
    throw new ConfigError('Invalid -c config=FILE', [
      `config: ${JSON.stringify(contextValue) ?? String(contextValue)} is not accepted; expected the path of a JSON config file, e.g. -c config=configs/class.json`,
    ]);
  }
  return path.resolve(cwd, contextValue);
}

/**
 * Reads, parses and validates a config file, and reads the lab roster file it
 * names (relative to the config file's directory).
 *
 * @param file path of the JSON config file
 * @returns the config with every default filled in, and `lab.students` when there is a lab
 * @throws ConfigError naming the path if the file is missing, unreadable or not
 *   JSON (with line and column), or listing every invalid field (and roster
 *   line) otherwise
 */
export function loadConfig(file: string): DasklabConfig {
  let text: string;
  try {
    const stat = fs.statSync(file);
    // A device (/dev/zero) never ends and a named pipe blocks the open: only a regular file is read.
    if (!stat.isFile() && !stat.isDirectory()) {
      throw new ConfigError(`Cannot read dasklab config ${file}`, ['the path is not a regular file (a device, pipe or socket); pass a JSON file with -c config=FILE']);
    }
    if (stat.size > MAX_CONFIG_BYTES) {
      throw new ConfigError(`Cannot read dasklab config ${file}`, ['the file is larger than 1 MiB; a dasklab config is a few hundred bytes']);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT'
      ? 'file not found; create it (see the README) or pass another one with -c config=FILE'
      : `the file cannot be read (${(err as Error).message})`;
    throw new ConfigError(`Cannot read dasklab config ${file}`, [reason]);
  }
  // Editors on Windows may save a byte order mark; it is not part of the JSON.
  if (text.charCodeAt(0) === 0xfeff) {
    text = text.slice(1);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Cannot read dasklab config ${file}`, [`invalid JSON ${describeJsonError(text, (err as Error).message)}`]);
  }
  return validateConfig(data, file, path.dirname(path.resolve(file)));
}

/**
 * Validates an already-parsed config, and resolves its lab roster: an inline
 * list is checked by the schema; a roster file is read and checked here.
 *
 * @param data the parsed JSON
 * @param source where it came from (e.g. the file path), for the error heading
 * @param configDir the directory a relative `lab.roster` file path is read
 *   from: the config file's directory. Default: the working directory (as for
 *   a relative `-c config=FILE`); `loadConfig` passes the config file's directory.
 * @returns the config with every default filled in, and `lab.students` when
 *   there is a lab (`lab.roster` is kept as written)
 * @throws ConfigError listing every problem, one per line: the config's and the
 *   roster's together
 */
export function validateConfig(data: unknown, source?: string, configDir: string = process.cwd()): DasklabConfig {
  const result = ConfigSchema.safeParse(data);
  const problems = result.success ? [] : formatIssues(result.error.issues, data, ConfigSchema);
  // The roster file is read even when other fields have problems, so that every
  // problem is reported at once.
  const rosterFile = rosterFileOf(data);
  let students: Student[] | undefined;
  if (rosterFile !== undefined) {
    try {
      students = loadRoster(rosterFile, configDir);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  // The materials folder likewise; its requirements join python.packages, each project once.
  const materialsFolder = materialsFolderOf(data);
  let courseMaterials: CourseMaterials | undefined;
  if (materialsFolder !== undefined) {
    try {
      courseMaterials = loadCourseMaterials(materialsFolder, configDir, result.success ? result.data.python.packages : packagesOf(data));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  // The lock file likewise, checked against everything the app asks pip for.
  const lockFile = lockFileOf(data);
  let lock: PythonLockFile | undefined;
  if (lockFile !== undefined) {
    try {
      lock = loadLockFile(lockFile, configDir, {
        packages: result.success ? result.data.python.packages : packagesOf(data),
        courseRequirements: courseMaterials?.requirements,
        jupyterPackages: runsJupyter(data) ? JUPYTER_PACKAGES : undefined,
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (!result.success || problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConfigError(`Invalid dasklab config${source === undefined ? '' : ` ${source}`} (${count})`, problems);
  }
  const config = lock === undefined ? result.data : { ...result.data, python: { ...result.data.python, lock } };
  if (config.lab === undefined) return config;
  // Spread drops completeLab's throwing getters; set what was read instead.
  const lab = { ...config.lab };
  if (students !== undefined) lab.students = students;
  if (courseMaterials !== undefined) lab.courseMaterials = courseMaterials;
  return students === undefined && courseMaterials === undefined ? config : { ...config, lab };
}

/** `lab.materials` of the raw config when it is a usable folder path (the schema reports any other value). */
function materialsFolderOf(data: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(data) || !isObject(data.lab)) return undefined;
  const materials = data.lab.materials;
  return typeof materials === 'string' && materialsPathProblem(materials) === null ? materials : undefined;
}

/** `python.lockFile` of the raw config when it is a usable file path (the schema reports any other value). */
function lockFileOf(data: unknown): string | undefined {
  const lockFile = (data as { python?: { lockFile?: unknown } } | null)?.python?.lockFile;
  return typeof lockFile === 'string' && lockFilePathProblem(lockFile) === null ? lockFile : undefined;
}

/** True if a machine of the raw config runs JupyterLab (lab.jupyter or cluster.jupyter). */
function runsJupyter(data: unknown): boolean {
  const config = data as { lab?: { jupyter?: unknown }; cluster?: { jupyter?: unknown } } | null;
  return config?.lab?.jupyter === true || config?.cluster?.jupyter === true;
}

/** `python.packages` of the raw config, its string entries only (for a config with problems elsewhere). */
function packagesOf(data: unknown): string[] {
  const packages = (data as { python?: { packages?: unknown } } | null)?.python?.packages;
  return Array.isArray(packages) ? packages.filter((p): p is string => typeof p === 'string') : [];
}

/** `lab.roster` of the raw config when it is a usable file path (the schema reports any other value). */
function rosterFileOf(data: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(data) || !isObject(data.lab)) return undefined;
  const roster = data.lab.roster;
  return typeof roster === 'string' && rosterPathProblem(roster) === null ? roster : undefined;
}

/**
 * "at line L, column C: <what V8 said>". V8 names the offset in most messages
 * ("... in JSON at position 42") but not for an unexpected token, so we locate
 * that one ourselves.
 */
function describeJsonError(text: string, message: string): string {
  const positionMatch = /at position (\d+)/.exec(message);
  let offset: number;
  if (positionMatch !== null) {
    offset = Number(positionMatch[1]);
  } else if (/end of JSON input/.test(message)) {
    offset = text.length;
  } else {
    offset = firstJsonErrorOffset(text);
  }
  // Drop V8's own position and its quoted copy of the input, whole or an excerpt
  // (`..."<text>"...` for a long input); we give line/column.
  const what = message
    .replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/ at position \d+.*$/s, '');
  const { line, column } = lineAndColumn(text, offset);
  return `at line ${line}, column ${column}: ${what}`;
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Offset of the first character where `text` stops being valid JSON. Only
 * called after JSON.parse failed, to place the error; a small recursive-descent
 * scanner over RFC 8259's grammar.
 */
function firstJsonErrorOffset(text: string): number {
  let i = 0;
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) {
          fail();
        }
      }
      i++;
    }
    if (text[i] !== '"') fail();
    i++;
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (match === null) fail();
    i += match![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] !== '}') fail();
        i++;
        return;
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] !== ']') fail();
        i++;
        return;
      }
    } else if (ch === '"') {
      string();
    } else if (ch === 't') {
      literal('true');
    } else if (ch === 'f') {
      literal('false');
    } else if (ch === 'n') {
      literal('null');
    } else {
      number();
    }
  };
  try {
    value();
    ws();
    return i; // trailing garbage, or (should not happen) valid text
  } catch (err) {
    if (err instanceof Stop) return i;
    throw err;
  }
}
