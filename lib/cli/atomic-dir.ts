/**
 * Writing a directory all at once: the files go to a temporary sibling that is
 * renamed into place when complete, so an error (or Ctrl-C) never leaves a
 * half-written directory, and an existing one is replaced only with --force,
 * only if dasklab wrote it, and never the current directory, its ancestors,
 * the home directory or /.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliError } from './errors';

/** A file to write. */
export interface DirFile {
  /** Name inside the directory (no subdirectories). */
  readonly name: string;
  readonly content: string;
  /** Permission bits, e.g. 0o600. */
  readonly mode: number;
}

/**
 * The file dasklab writes into every directory it creates with `--out`. Only a
 * directory holding it may be replaced with `--force`: whatever else `--out`
 * names (a course directory, a home) was not dasklab's to delete.
 */
export const OUT_DIR_MARKER = '.dasklab-out';

/** What the marker says to someone who finds it. */
const MARKER_TEXT = 'Written by dasklab. `--force` may replace this whole directory.\n';

/** Where the check runs from. */
export interface OutDirContext {
  /**
   * The current directory: neither it nor an ancestor may be the output.
   * @default process.cwd()
   */
  readonly cwd?: string;
  /**
   * The user's home directory, which may not be the output either.
   * @default os.homedir()
   */
  readonly home?: string;
}

/** The path with symbolic links resolved as far as it exists (the rest appended as written). */
function realPath(p: string): string {
  const absolute = path.resolve(p);
  try {
    return fs.realpathSync(absolute);
  } catch {
    const parent = path.dirname(absolute);
    return parent === absolute ? absolute : path.join(realPath(parent), path.basename(absolute));
  }
}

/** Why `dir` may never be the output, whatever it holds, or null. */
function protectedDirProblem(dir: string, cwd: string, home: string): string | null {
  const target = realPath(dir);
  const here = realPath(cwd);
  if (target === path.parse(target).root) return 'is the root directory';
  if (target === here) return 'is the current directory';
  if (here.startsWith(target.endsWith(path.sep) ? target : `${target}${path.sep}`)) return 'holds the current directory';
  if (target === realPath(home)) return 'is the home directory';
  return null;
}

/**
 * Fails unless `dir` may be written: it is not `/`, the home directory, the
 * current directory or one of its ancestors; and it does not exist, is an
 * empty directory, or `force` is set and it is a directory dasklab wrote (it
 * holds {@link OUT_DIR_MARKER}). Call it before slow work so the user learns at once.
 */
export function checkWritableDir(dir: string, force: boolean, context: OutDirContext = {}): void {
  const problem = protectedDirProblem(dir, context.cwd ?? process.cwd(), context.home ?? os.homedir());
  if (problem !== null) {
    throw new CliError(`${dir} ${problem}; --out must name a directory of its own, e.g. handouts/.`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isDirectory()) throw new CliError(`${dir} exists and is not a directory; choose another --out.`);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return;
  if (!force) {
    throw new CliError(`${dir} exists and is not empty; pass --force to replace it, or choose another --out.`);
  }
  if (!fs.lstatSync(path.join(dir, OUT_DIR_MARKER), { throwIfNoEntry: false })?.isFile()) {
    throw new CliError(
      `${dir} was not written by dasklab (it has no ${OUT_DIR_MARKER}); --force replaces only a directory dasklab wrote: choose another --out, or remove it yourself.`,
    );
  }
}

/**
 * Writes `files` as the directory `dir` (mode 0700: it may hold keys),
 * replacing an existing one only when `force` is set.
 */
export function writeDirAtomically(dir: string, files: readonly DirFile[], force: boolean, context: OutDirContext = {}): void {
  const target = path.resolve(dir);
  checkWritableDir(target, force, context);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  let old: string | undefined;
  try {
    fs.chmodSync(tmp, 0o700);
    for (const file of files) {
      if (file.name.includes('/') || file.name.startsWith('.')) throw new Error(`bad file name ${file.name}`);
      const filePath = path.join(tmp, file.name);
      fs.writeFileSync(filePath, file.content, { mode: file.mode, flag: 'wx' });
      fs.chmodSync(filePath, file.mode); // the umask may have taken bits away
    }
    fs.writeFileSync(path.join(tmp, OUT_DIR_MARKER), MARKER_TEXT, { mode: 0o644, flag: 'wx' });
    if (fs.existsSync(target)) {
      // An empty directory can simply go; a full one is kept until the new one is in place.
      if (fs.readdirSync(target).length === 0) {
        fs.rmdirSync(target);
      } else {
        old = `${tmp}-old`;
        fs.renameSync(target, old);
      }
    }
    fs.renameSync(tmp, target);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (old !== undefined && !fs.existsSync(target)) fs.renameSync(old, target);
    throw error;
  }
  if (old !== undefined) fs.rmSync(old, { recursive: true, force: true });
}
