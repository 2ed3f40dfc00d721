/**
 * Writing a directory all at once: the files go to a temporary sibling that is
 * renamed into place when complete, so an error (or Ctrl-C) never leaves a
 * half-written directory, and an existing one is replaced only with --force.
 */
import * as fs from 'fs';
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
 * Fails unless `dir` may be written: it does not exist, is an empty
 * directory, or `force` is set and it is a directory. Call it before slow work
 * so the user learns at once.
 */
export function checkWritableDir(dir: string, force: boolean): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stat.isDirectory()) throw new CliError(`${dir} exists and is not a directory; choose another --out.`);
  if (!force && fs.readdirSync(dir).length > 0) {
    throw new CliError(`${dir} exists and is not empty; pass --force to replace it, or choose another --out.`);
  }
}

/**
 * Writes `files` as the directory `dir` (mode 0700: it may hold keys),
 * replacing an existing one only when `force` is set.
 */
export function writeDirAtomically(dir: string, files: readonly DirFile[], force: boolean): void {
  const target = path.resolve(dir);
  checkWritableDir(target, force);
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
