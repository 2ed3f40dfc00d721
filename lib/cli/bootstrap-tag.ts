/**
 * The readiness contract between a machine's bootstrap and the CLI.
 *
 * The bootstrap (userdata/bootstrap.sh) tags its own instance with
 * `dasklab:bootstrap`, so `dasklab status` sees readiness with one
 * DescribeInstances call and no SSH. Both sides use the names below; the
 * bootstrap's renderer can take them from here.
 */
export const BOOTSTRAP_TAG = {
  /** The tag key on the instance. */
  key: 'dasklab:bootstrap',
  /** Set once apt has installed what tagging needs (apt-tools), while the rest runs. */
  bootstrapping: 'bootstrapping',
  /** Set when every phase, including the self-check, has succeeded. */
  ready: 'ready',
  /** Prefix of the value set when a phase fails: `failed:<phase>`. */
  failedPrefix: 'failed:',
  /**
   * The phases of the bootstrap, in the order they run (optional ones where
   * they run), and `complete`, the step that writes the result after them.
   */
  phases: ['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'tls', 'dask', 'cluster', 'idle', 'complete'],
} as const;

/** A bootstrap phase name. */
export type BootstrapPhase = (typeof BOOTSTRAP_TAG.phases)[number];

/**
 * How long a machine may run without any tag before we stop calling it
 * "booting": apt and apt-tools, the only phases before the first tag, take minutes.
 */
export const BOOTING_GRACE_MINUTES = 30;

/** What the CLI shows about a machine's bootstrap. */
export type Readiness =
  | { readonly state: 'ready' }
  | { readonly state: 'bootstrapping' }
  | { readonly state: 'failed'; readonly phase: BootstrapPhase }
  /** No tag yet, launched less than {@link BOOTING_GRACE_MINUTES} ago. */
  | { readonly state: 'booting' }
  /** A value the bootstrap never sets, or no tag and launched long ago (tagging may be broken). */
  | { readonly state: 'unknown' };

/**
 * The readiness of a machine from its `dasklab:bootstrap` tag.
 *
 * @param tagValue the tag's value, undefined when the instance has no such tag
 * @param launchTime when the instance was last started (EC2's LaunchTime)
 * @param now the current time
 */
export function readinessOf(tagValue: string | undefined, launchTime: Date | undefined, now: Date): Readiness {
  if (tagValue === BOOTSTRAP_TAG.ready) return { state: 'ready' };
  if (tagValue === BOOTSTRAP_TAG.bootstrapping) return { state: 'bootstrapping' };
  // The machine sets the tag itself, and its user has sudo: only known values
  // are shown, never the tag's text (terminal escapes, misleading words).
  const phase = tagValue?.startsWith(BOOTSTRAP_TAG.failedPrefix) ? tagValue.slice(BOOTSTRAP_TAG.failedPrefix.length) : undefined;
  if (phase !== undefined && (BOOTSTRAP_TAG.phases as readonly string[]).includes(phase)) {
    return { state: 'failed', phase: phase as BootstrapPhase };
  }
  if (tagValue !== undefined) return { state: 'unknown' };
  const ageMinutes = launchTime === undefined ? Infinity : (now.getTime() - launchTime.getTime()) / 60000;
  return ageMinutes < BOOTING_GRACE_MINUTES ? { state: 'booting' } : { state: 'unknown' };
}

/** `ready`, `bootstrapping`, `failed (pip)`, `booting` or `unknown`. */
export function formatReadiness(readiness: Readiness): string {
  return readiness.state === 'failed' ? `failed (${readiness.phase})` : readiness.state;
}
