/**
 * An app's current Python version set, as the CLI reads it: the SSM
 * parameters under `/dasklab/<app>/python` (layout in
 * lib/machine/version-set.ts) grouped by set, the set written to last chosen,
 * and its kinds merged into one map of project to version. Reading takes the
 * caller's `ssm:GetParametersByPath` on that path.
 *
 * The parameters are written by the app's machines, so their content is
 * checked here before it reaches a terminal or a requirements file: a set
 * whose pins are not `name==version` with a plain version is refused.
 */
import { paginateGetParametersByPath, SSMClient } from '@aws-sdk/client-ssm';
import { normalizeProjectName } from '../config/requirement';
import { parseVersionSet, VERSION_SET_KINDS, VersionSetKind, versionSetRoot } from '../machine/version-set';
import { CliError, expectedErrorOf } from './errors';

/** One parameter under an app's version-set root, as SSM lists it. */
export interface VersionSetParameter {
  /** The full parameter name, e.g. `/dasklab/lab1/python/0123456789ab/base`. */
  readonly name: string;
  /** `pip freeze` text. */
  readonly value: string;
  /** When the parameter was last written. */
  readonly lastModified: Date;
}

/** A package whose version differs between the kinds of one set. */
export interface VersionConflict {
  /** The project name as the base kind spells it. */
  readonly name: string;
  /** The base kind's version: the one kept. */
  readonly base: string;
  /** The jupyter kind's version, which was dropped. */
  readonly jupyter: string;
}

/** The kinds of a set merged into one map of project to version. */
export interface MergedVersions {
  /** Project name to version, sorted by normalized name. */
  readonly versions: Record<string, string>;
  /** Packages on which the kinds disagree; base's version is in `versions`. */
  readonly conflicts: VersionConflict[];
}

/** An app's current version set. */
export interface AppVersionSet extends MergedVersions {
  /** The set's path, `/dasklab/<app>/python/<12 hex digits>`. */
  readonly path: string;
  /** The kinds the set holds, base first: its versions win where the kinds disagree. */
  readonly kinds: VersionSetKind[];
  /** When its newest parameter was written. */
  readonly lastModified: Date;
}

/** A parameter placed in the layout: its set's path and its kind. */
export interface PlacedParameter extends VersionSetParameter {
  /** The set's path, `<root>/<12 hex digits>`. */
  readonly setPath: string;
  /** Which machines shared it: base (without JupyterLab) or jupyter. */
  readonly kind: VersionSetKind;
}

/** What a set's name is: 12 hex digits of a digest. */
const SET_NAME = /^[0-9a-f]{12}$/;

/** A version as pip freeze writes it (PEP 440, with a local part): no operators, markers or URLs. */
const PLAIN_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]*$/;

/** The packages the text status names before the count, when the set has them. */
export const HEADLINE_PACKAGES: readonly string[] = ['dask', 'numpy'];

/**
 * The set path and kind of a parameter, or undefined when its name is not
 * `<root>/<12 hex digits>/<kind>` (a kind this CLI does not know is left out).
 */
export function placeVersionSetParameter(root: string, parameter: VersionSetParameter): PlacedParameter | undefined {
  if (!parameter.name.startsWith(`${root}/`)) return undefined;
  const parts = parameter.name.slice(root.length + 1).split('/');
  if (parts.length !== 2 || !SET_NAME.test(parts[0])) return undefined;
  const kind = VERSION_SET_KINDS.find((k) => k === parts[1]);
  if (kind === undefined) return undefined;
  return { ...parameter, setPath: `${root}/${parts[0]}`, kind };
}

/**
 * The parameters of the current set: the set whose newest parameter was
 * written last (of two written at the same moment, the greater path, so that
 * the choice does not depend on SSM's order). Empty when there is no set.
 */
export function currentSetParameters(root: string, parameters: readonly VersionSetParameter[]): PlacedParameter[] {
  const placed = parameters.map((p) => placeVersionSetParameter(root, p)).filter((p): p is PlacedParameter => p !== undefined);
  const newest = placed.reduce<PlacedParameter | undefined>((best, p) => (best === undefined || isNewer(p, best) ? p : best), undefined);
  return newest === undefined ? [] : placed.filter((p) => p.setPath === newest.setPath);
}

/** Whether `a` was written after `b`, ties going to the greater set path. */
function isNewer(a: PlacedParameter, b: PlacedParameter): boolean {
  const difference = a.lastModified.getTime() - b.lastModified.getTime();
  return difference !== 0 ? difference > 0 : a.setPath > b.setPath;
}

/**
 * Merges the kinds of one set: base's packages, then those of jupyter that
 * base lacks (names compared as pip does, PEP 503). Where both pin a package
 * at different versions, base's version is kept and the disagreement listed.
 */
export function mergeVersionSetKinds(byKind: Partial<Record<VersionSetKind, Record<string, string>>>): MergedVersions {
  const merged = new Map<string, { name: string; version: string }>();
  const conflicts: VersionConflict[] = [];
  for (const [name, version] of Object.entries(byKind.base ?? {})) merged.set(normalizeProjectName(name), { name, version });
  for (const [name, version] of Object.entries(byKind.jupyter ?? {})) {
    const kept = merged.get(normalizeProjectName(name));
    if (kept === undefined) merged.set(normalizeProjectName(name), { name, version });
    else if (kept.version !== version) conflicts.push({ name: kept.name, base: kept.version, jupyter: version });
  }
  const names = [...merged.values()].sort(byProjectName((p) => p.name));
  return { versions: Object.fromEntries(names.map((p) => [p.name, p.version])), conflicts: conflicts.sort(byProjectName((c) => c.name)) };
}

/** A sort order by project name as pip compares them (PEP 503), then as spelled, independent of the locale. */
function byProjectName<T>(nameOf: (item: T) => string): (a: T, b: T) => number {
  const compare = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return (a, b) => compare(normalizeProjectName(nameOf(a)), normalizeProjectName(nameOf(b))) || compare(nameOf(a), nameOf(b));
}

/**
 * The pins of one parameter's value.
 * @throws CliError when it holds no pin, or a version that is not a plain version
 */
export function pinsOf(parameter: VersionSetParameter): Record<string, string> {
  const pins = parseVersionSet(parameter.value);
  if (Object.keys(pins).length === 0) {
    throw new CliError(`the version set parameter ${parameter.name} holds no \`name==version\` line; delete it, and the next machine to bootstrap shares its versions again.`);
  }
  const bad = Object.entries(pins).find(([, version]) => !PLAIN_VERSION.test(version));
  if (bad !== undefined) {
    throw new CliError(`the version set parameter ${parameter.name} pins ${bad[0]} to ${JSON.stringify(bad[1])}, which is not a version; delete the parameter, and the next machine to bootstrap shares its versions again.`);
  }
  return pins;
}

/**
 * The app's current version set from the parameters under its root, or
 * undefined when there is none.
 * @throws CliError when a parameter of the current set holds no valid pins
 */
export function appVersionSetOf(app: string, parameters: readonly VersionSetParameter[]): AppVersionSet | undefined {
  const current = currentSetParameters(versionSetRoot(app), parameters);
  if (current.length === 0) return undefined;
  const byKind: Partial<Record<VersionSetKind, Record<string, string>>> = {};
  for (const parameter of current) byKind[parameter.kind] = pinsOf(parameter);
  const newest = Math.max(...current.map((p) => p.lastModified.getTime()));
  return {
    path: current[0].setPath,
    kinds: (['base', 'jupyter'] as const).filter((kind) => byKind[kind] !== undefined),
    lastModified: new Date(newest),
    ...mergeVersionSetKinds(byKind),
  };
}

/**
 * The clear error a failed read of the app's version sets stands for, or
 * undefined when the failure is not AWS's answer (a bug, which keeps its stack).
 */
export function versionSetReadError(error: unknown, app: string): CliError | undefined {
  const root = versionSetRoot(app);
  const { name = '', message = '' } = (error ?? {}) as { name?: string; message?: string };
  const reason = `${name}: ${message.split('\n')[0].trim()}`;
  if (/^AccessDenied(Exception)?$/.test(name)) {
    return new CliError(`Not allowed to read the Python version set of app ${app} (${reason}). It takes ssm:GetParametersByPath on ${root} (the parameter path arn:aws:ssm:<region>:<account>:parameter${root}).`);
  }
  const expected = expectedErrorOf(error);
  if (expected !== undefined) return expected;
  if ((error as { $metadata?: unknown } | undefined)?.$metadata !== undefined) {
    return new CliError(`Cannot read the Python version set of app ${app} under ${root} (AWS error ${reason}).`);
  }
  return undefined;
}

/** Every parameter under the app's version-set root (all pages). */
async function readVersionSetParameters(ssm: SSMClient, app: string): Promise<VersionSetParameter[]> {
  const parameters: VersionSetParameter[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: versionSetRoot(app), Recursive: true })) {
    for (const p of page.Parameters ?? []) {
      if (p.Name === undefined || p.LastModifiedDate === undefined) continue;
      parameters.push({ name: p.Name, value: p.Value ?? '', lastModified: p.LastModifiedDate });
    }
  }
  return parameters;
}

/**
 * Reads the app's current version set from SSM.
 * @returns undefined when the app has none yet
 * @throws CliError when SSM refuses or fails, or the set's content is not valid
 */
export async function readAppVersionSet(ssm: SSMClient, app: string): Promise<AppVersionSet | undefined> {
  let parameters: VersionSetParameter[];
  try {
    parameters = await readVersionSetParameters(ssm, app);
  } catch (error) {
    throw versionSetReadError(error, app) ?? error;
  }
  return appVersionSetOf(app, parameters);
}

/** The version a set pins a project to (names compared as pip does), or undefined. */
function versionOf(versions: Record<string, string>, project: string): string | undefined {
  const wanted = normalizeProjectName(project);
  return Object.entries(versions).find(([name]) => normalizeProjectName(name) === wanted)?.[1];
}

/** A set in a few words: `dask 2024.12.1, numpy 2.2.4, 153 packages`. */
export function summarizeVersionSet(set: Pick<AppVersionSet, 'versions'>): string {
  const headline = HEADLINE_PACKAGES.flatMap((name) => {
    const version = versionOf(set.versions, name);
    return version === undefined ? [] : [`${name} ${version}`];
  });
  const count = Object.keys(set.versions).length;
  return [...headline, `${count} ${count === 1 ? 'package' : 'packages'}`].join(', ');
}

/** A conflict in words, for a warning. */
export function describeConflict(conflict: VersionConflict): string {
  return `${conflict.name}: base ${conflict.base}, jupyter ${conflict.jupyter} (base's kept)`;
}

/** A requirements file pinning every package of the set, `name==version` a line, sorted by name. */
export function requirementsText(versions: Record<string, string>): string {
  const names = Object.keys(versions).sort(byProjectName((name) => name));
  return names.map((name) => `${name}==${versions[name]}\n`).join('');
}

/** What reading the app's version set came to: the set (undefined when there is none), or why it could not be read. */
export type VersionSetOutcome = { readonly set: AppVersionSet | undefined } | { readonly error: string };

/**
 * Reads the app's current version set for a command that goes on without
 * it: an expected failure (SSM refusing, a set not valid) becomes its reason.
 * @throws what is not an expected failure (a bug)
 */
export async function readVersionSetOutcome(ssm: SSMClient, app: string): Promise<VersionSetOutcome> {
  try {
    return { set: await readAppVersionSet(ssm, app) };
  } catch (error) {
    const expected = expectedErrorOf(error);
    if (expected === undefined) throw error;
    return { error: expected.message };
  }
}
