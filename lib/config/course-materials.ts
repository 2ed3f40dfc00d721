/**
 * `lab.materials`: a local folder of course materials (notebooks, data, and a
 * `requirements.txt` of the course's own packages) that every student finds in
 * `~/course` on their machine. The loader reads and checks the folder here,
 * before any construct is built; the lab's shared stack ships it as one CDK
 * asset (lib/lab/course-materials-asset.ts).
 *
 * Limits, checked at synth (what happens above them: synth fails, naming the
 * folder, its size and the limit):
 * - {@link MAX_MATERIALS_BYTES} in all: every `cdk synth` fingerprints and
 *   copies the folder into cdk.out, `cdk deploy` zips and uploads it, and
 *   every student machine downloads and unpacks it before it reports ready,
 *   next to a venv of a few GiB on a 30 GiB disk by default. S3 itself would
 *   take far more: up to 5 GB in one PUT and 5 TiB with multipart uploads
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
 * - {@link MAX_MATERIALS_FILES} files: a course's notebooks and data sets; a
 *   folder with more is usually a venv, a package cache or a repository's
 *   history copied in by mistake.
 * - only regular files and folders: a symbolic link could point anywhere on
 *   the trainer's computer (or, unpacked, on the student's machine).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, formatValue } from './errors';
import { normalizeProjectName, parseRequirement, requirementHoldsCredential, requirementProblem } from './requirement';
import { writtenPathProblem } from './schema-blocks';

/** Most bytes of the materials' files, together: 256 MiB. */
export const MAX_MATERIALS_BYTES = 256 * 1024 * 1024;

/** Most files in the materials. */
export const MAX_MATERIALS_FILES = 2000;

/** The file at the folder's root that names the course's own pip packages. */
export const REQUIREMENTS_FILE = 'requirements.txt';

/** Most requirements in it: as many as python.packages takes. */
export const MAX_COURSE_REQUIREMENTS = 100;

/** Largest requirements file read. */
const MAX_REQUIREMENTS_BYTES = 64 * 1024;

/** Longest path of the folder, as written. */
const MAX_MATERIALS_PATH_LENGTH = 1024;

/**
 * Names left out of the materials wherever they are: editors' and tools'
 * leftovers, never course content. The asset excludes the same names
 * (the CDK's glob patterns; a name without "/" matches at any depth).
 */
export const MATERIALS_EXCLUDED_NAMES: readonly string[] = ['.git', '.ipynb_checkpoints', '__pycache__', '.DS_Store'];

const MATERIALS_EXPECTED =
  'expected the path of a folder of course materials (notebooks, data, an optional requirements.txt), relative to the config file, e.g. "course/", or null for none';

/** What the loader found in `lab.materials`. */
export interface CourseMaterials {
  /** The folder, absolute. */
  readonly folder: string;
  /** Files the asset holds (excluded names not counted). */
  readonly files: number;
  /** Their bytes, together. */
  readonly bytes: number;
  /** The requirements of `requirements.txt`, in file order (empty without the file). */
  readonly requirements: readonly string[];
}

/** Why `p` cannot be the path of the materials folder, or null. (The folder itself is read by {@link loadCourseMaterials}.) */
export function materialsPathProblem(p: string): string | null {
  return writtenPathProblem(MATERIALS_EXPECTED, p, MAX_MATERIALS_PATH_LENGTH);
}

/** The messages of `materialsPathProblem` start with this. */
export const MATERIALS_PATH_EXPECTED = MATERIALS_EXPECTED;

/**
 * Reads and checks the materials folder.
 *
 * @param written `lab.materials` as written
 * @param configDir the directory a relative path is resolved from: the config file's
 * @param packages `python.packages`, which the course's requirements join (each project once)
 * @throws ConfigError with one line per problem, each naming `lab.materials`, the value and what is accepted
 */
export function loadCourseMaterials(written: string, configDir: string, packages: readonly string[] = []): CourseMaterials {
  const folder = path.resolve(configDir, written);
  const problem = (reason: string) => `lab.materials: ${formatValue(written)} is not accepted; ${reason}`;
  const fail = (reasons: string[]): never => {
    throw new ConfigError(`Cannot use the course materials ${folder}`, reasons.map(problem));
  };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const relative = path.isAbsolute(written) ? '' : ' (a relative path is read from the config file\'s directory)';
    return fail([
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `expected a folder of course materials; not found: ${folder}${relative}`
        : `expected a folder of course materials; ${folder} cannot be read (${(err as Error).message})`,
    ]);
  }
  if (!stat.isDirectory()) {
    return fail([`expected a folder of course materials; ${folder} is a file, not a folder (name the folder that holds the notebooks)`]);
  }
  const found = walk(folder);
  const reasons = [...found.problems];
  if (found.files === 0 && reasons.length === 0) {
    reasons.push(`expected a folder of course materials; ${folder} holds no file`);
  }
  if (found.files > MAX_MATERIALS_FILES) {
    reasons.push(`expected at most ${MAX_MATERIALS_FILES.toLocaleString('en-US')} files; ${folder} holds ${found.files.toLocaleString('en-US')} (${MATERIALS_EXCLUDED_NAMES.join(', ')} are left out already)`);
  }
  if (found.bytes > MAX_MATERIALS_BYTES) {
    reasons.push(`expected at most ${mebibytes(MAX_MATERIALS_BYTES)} of files; ${folder} holds ${mebibytes(found.bytes)} (every student machine downloads it before it is ready: keep large data sets elsewhere, e.g. in S3)`);
  }
  const requirements = readRequirements(path.join(folder, REQUIREMENTS_FILE), packages);
  reasons.push(...requirements.problems);
  if (reasons.length > 0) fail(reasons);
  return { folder, files: found.files, bytes: found.bytes, requirements: requirements.requirements };
}

/** "12.3 MiB". */
function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MiB`;
}

/** Counts the files and bytes under `folder` (excluded names skipped); anything but files and folders is a problem. */
function walk(folder: string): { files: number; bytes: number; problems: string[] } {
  let files = 0;
  let bytes = 0;
  const problems: string[] = [];
  const pending = [folder];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      problems.push(`expected readable folders; ${dir} cannot be read (${(err as Error).message})`);
      continue;
    }
    for (const entry of entries) {
      if (MATERIALS_EXCLUDED_NAMES.includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      const relative = path.relative(folder, full);
      if (entry.isDirectory()) {
        pending.push(full);
      } else if (entry.isFile()) {
        files++;
        bytes += fs.statSync(full).size;
      } else if (entry.isSymbolicLink()) {
        problems.push(`expected only files and folders; ${JSON.stringify(relative)} is a symbolic link (copy the file in instead)`);
      } else {
        problems.push(`expected only files and folders; ${JSON.stringify(relative)} is a device, pipe or socket`);
      }
      if (problems.length >= 10) return { files, bytes, problems: [...problems, 'expected only files and folders; (further entries not listed)'] };
    }
  }
  return { files, bytes, problems };
}

/** True if a line of requirements.txt must not be echoed: a URL in it carries user info (a token, a password). */
function holdsCredential(text: string): boolean {
  return requirementHoldsCredential(text) || /:\/\/[^/\s]*@/.test(text);
}

/**
 * The requirements of the folder's requirements.txt, checked by the rules of
 * python.packages: one requirement a line (`#` comments and blank lines
 * allowed), no pip options, no URL with a credential, each project once and
 * not already in python.packages in another form.
 */
function readRequirements(file: string, packages: readonly string[]): { requirements: string[]; problems: string[] } {
  const where = `${REQUIREMENTS_FILE}`;
  if (!fs.existsSync(file)) return { requirements: [], problems: [] };
  const stat = fs.statSync(file);
  if (!stat.isFile()) return { requirements: [], problems: [`expected ${where} to be a file of pip requirements; it is not a regular file`] };
  if (stat.size > MAX_REQUIREMENTS_BYTES) {
    return { requirements: [], problems: [`expected ${where} of at most ${MAX_REQUIREMENTS_BYTES / 1024} KiB; it is larger`] };
  }
  const named = new Map<string, string>();
  for (const spec of packages) {
    if (requirementProblem(spec) === null) named.set(normalizeProjectName(parseRequirement(spec).name), spec);
  }
  const requirements: string[] = [];
  const problems: string[] = [];
  const firstLine = new Map<string, number>();
  const lines = fs.readFileSync(file, 'utf8').replace(/^\ufeff/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    // pip's comments: "#" at the start of a line or after whitespace.
    const text = raw.replace(/(^|\s)#.*$/, '').trim();
    if (text === '') return;
    const shown = holdsCredential(text) ? '(not shown: it holds a credential)' : formatValue(text);
    const refuse = (reason: string) => problems.push(`${where} line ${line} ${shown}: ${reason}`);
    if (text.startsWith('-')) {
      refuse('expected a requirement, not a pip option (-r, -e, --index-url and the like are not accepted: the package index is python.indexUrl)');
      return;
    }
    const problem = requirementProblem(text);
    if (problem !== null) {
      refuse(problem);
      return;
    }
    const project = normalizeProjectName(parseRequirement(text).name);
    const earlier = firstLine.get(project);
    if (earlier !== undefined) {
      refuse(`expected each project once; "${project}" is already on line ${earlier}`);
      return;
    }
    firstLine.set(project, line);
    const configured = named.get(project);
    if (configured === text) return; // the same requirement: installed once
    if (configured !== undefined) {
      refuse(`expected each project once; python.packages already has it as ${formatValue(configured)} (name it in one place)`);
      return;
    }
    requirements.push(text);
  });
  if (requirements.length > MAX_COURSE_REQUIREMENTS) {
    problems.push(`expected at most ${MAX_COURSE_REQUIREMENTS} requirements in ${where}; it has ${requirements.length}`);
  }
  return { requirements, problems };
}
