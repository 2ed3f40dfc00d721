import { spawnSync } from 'child_process';
import * as fs from 'fs';

/**
 * Teardown that must happen even when the run is interrupted: containers killed
 * by their PIDs, network namespaces deleted, temp dirs removed. Actions are
 * synchronous so they can run from a signal handler or at process exit, and run
 * newest first (containers before the network they live in).
 */

type Action = { label: string; fn: () => void };
const actions = new Map<number, Action>();
let nextId = 1;
let installed = false;

function runAll(): void {
  const pending = [...actions.entries()].reverse();
  actions.clear();
  for (const [, action] of pending) {
    try {
      action.fn();
    } catch (err) {
      process.stderr.write(`[twin] cleanup "${action.label}" failed: ${err}\n`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`[twin] ${sig}: tearing down\n`);
      runAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  process.on('exit', runAll);
}

/** Registers a teardown action; the returned function runs it now and unregisters it. */
export function onCleanup(label: string, fn: () => void): () => void {
  install();
  const id = nextId++;
  actions.set(id, { label, fn });
  return () => {
    const action = actions.get(id);
    if (!action) return;
    actions.delete(id);
    action.fn();
  };
}

/** Unmounts anything left mounted below `dir` (an interrupted debootstrap mounts /proc there), then deletes it. */
export function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const prefix = fs.realpathSync(dir) + '/';
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
