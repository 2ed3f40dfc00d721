/**
 * Polling for what the SDK has no waiter for: a root-volume replacement task
 * and an instance tag. (For instance states the SDK's waiters are used.)
 */

/** The result of one poll: done with a value, or not yet. */
export type PollResult<T> = { readonly done: true; readonly value: T } | { readonly done: false };

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Milliseconds between polls. */
  readonly intervalMs: number;
  /** Give up when this point in time (ms since the epoch) has passed. */
  readonly deadline: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
  /** Sleeping. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Thrown by {@link pollUntil} when the deadline passes. */
export class PollTimeout extends Error {
  constructor() {
    super('timed out');
    this.name = 'PollTimeout';
  }
}

/**
 * Calls `check` until it says done, at least `intervalMs` apart; the first
 * call is immediate.
 *
 * @throws PollTimeout when the deadline passes first; whatever `check` throws
 */
export async function pollUntil<T>(check: () => Promise<PollResult<T>>, options: PollOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (;;) {
    const result = await check();
    if (result.done) return result.value;
    if (now() + options.intervalMs > options.deadline) throw new PollTimeout();
    await sleep(options.intervalMs);
  }
}
