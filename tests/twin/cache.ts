import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { onCleanup, removeTree } from './cleanup';

/**
 * The twin's build cache: outside the repo (root-owned rootfs trees do not belong
 * in a work tree), default /var/cache/dasklab-twin, or $DASKLAB_TWIN_CACHE.
 */
export function cacheDir(): string {
  const dir = process.env.DASKLAB_TWIN_CACHE || '/var/cache/dasklab-twin';
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A short stable hash of everything that determines a build's output. */
export function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/**
 * Returns `<cache>/<kind>-<key>`, building it first if it is missing. The build
 * writes into a temp dir that is renamed into place only on success, so a
 * crashed or interrupted build is never taken for a finished one. Older builds of
 * the same kind are removed once no running twin uses them.
 */
export async function cachedBuild(
  kind: string,
  key: string,
  build: (tmpDir: string) => Promise<void>,
): Promise<{ dir: string; built: boolean; seconds: number }> {
  const root = cacheDir();
  const dir = path.join(root, `${kind}-${key}`);
  if (fs.existsSync(dir)) {
    pruneOthers(root, kind, dir);
    return { dir, built: false, seconds: 0 };
  }
  removeDeadTemps(root);
  const tmp = path.join(root, `.tmp-${kind}-${key}-${process.pid}`);
  removeTree(tmp);
  fs.mkdirSync(tmp);
  const dropTmp = onCleanup(`remove ${tmp}`, () => removeTree(tmp));
  const started = Date.now();
  try {
    await build(tmp);
    fs.renameSync(tmp, dir);
  } catch (err) {
    if (fs.existsSync(dir)) {
      dropTmp();
      return { dir, built: false, seconds: 0 }; // a parallel build won
    }
    dropTmp();
    throw err;
  }
  dropTmp(); // tmp no longer exists: it was renamed
  pruneOthers(root, kind, dir);
  return { dir, built: true, seconds: (Date.now() - started) / 1000 };
}

/** Removes the other builds of this kind, unless a running twin still uses them. */
function pruneOthers(root: string, kind: string, keep: string): void {
  for (const name of fs.readdirSync(root)) {
    const other = path.join(root, name);
    if (name.startsWith(`${kind}-`) && other !== keep && !inUse(other)) removeTree(other);
  }
}

/**
 * Whether a running process names this dir on its command line (another twin's
 * systemd-nspawn --directory=..., say): such a build must not be pruned under it.
 */
function inUse(dir: string): boolean {
  // A persistent machine root (machine.ts) is an overlay mounted on the host with this build (or a baked image's root in it) as its lower layer.
  if (fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.startsWith('overlay ') && (l.includes(`lowerdir=${dir},`) || l.includes(`lowerdir=${dir}/`)))) {
    return true;
  }
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.includes(dir))) return true;
      // A twin's services.py names its served dirs in its config file.
      const config = args.find((a) => /\/dasklab-twin-[^/]+\/services\.json$/.test(a));
      if (config && fs.readFileSync(config, 'utf8').includes(dir)) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

/** Removes temp build dirs whose building process is gone (killed with SIGKILL, say). */
function removeDeadTemps(root: string): void {
  for (const name of fs.readdirSync(root)) {
    const m = /^\.tmp-.*-(\d+)$/.exec(name);
    if (m && !isAlive(Number(m[1]))) removeTree(path.join(root, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
