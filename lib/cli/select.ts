/**
 * Which machines a command acts on. Users name machines the way they know
 * them: a student id, the `Name` tag, the label the CLI shows, or an instance id.
 */
import { CliError } from './errors';
import { Machine } from './machines';

/** Where the machines were looked for, for error messages. */
export interface AppScope {
  readonly app: string;
  readonly region: string;
}

/** True if `id` names the machine. */
export function namesMachine(machine: Machine, id: string): boolean {
  return machine.instanceId === id || machine.student === id || machine.name === id || machine.label === id;
}

/**
 * The machines named by `ids` (a student id names all of that student's
 * machines), or all of them with `all`, in the order of `machines`.
 *
 * @throws CliError naming every unknown id and listing the valid ones, or when
 *   neither ids nor `all` are given
 */
export function selectMachines(machines: readonly Machine[], ids: readonly string[], all: boolean, scope: AppScope): Machine[] {
  if (all) {
    if (ids.length > 0) throw new CliError('Give machine ids or --all, not both.');
    return [...machines];
  }
  if (ids.length === 0) {
    throw new CliError(`Name the machines (student id, Name or instance id), or pass --all. ${validIds(machines)}`);
  }
  const unknown = ids.filter((id) => !machines.some((m) => namesMachine(m, id)));
  if (unknown.length > 0) throw unknownIds(unknown, machines, scope);
  return machines.filter((m) => ids.some((id) => namesMachine(m, id)));
}

/**
 * The one machine `id` names. A student id can name several machines (the
 * student's own and its workers); then the one of the first role in `prefer`
 * is taken.
 *
 * @param prefer roles in order of preference when `id` names several machines
 * @throws CliError if `id` names no machine, or several and none is preferred
 */
export function selectOne(machines: readonly Machine[], id: string, scope: AppScope, prefer: readonly string[] = ['student', 'standalone', 'scheduler']): Machine {
  const exact = machines.filter((m) => m.instanceId === id || m.name === id || m.label === id);
  if (exact.length === 1) return exact[0];
  const matches = machines.filter((m) => namesMachine(m, id));
  if (matches.length === 0) throw unknownIds([id], machines, scope);
  if (matches.length === 1) return matches[0];
  for (const role of prefer) {
    const ofRole = matches.filter((m) => m.role === role);
    if (ofRole.length === 1) return ofRole[0];
  }
  throw new CliError(`"${id}" names ${matches.length} machines: ${matches.map(describe).join(', ')}. Name one by its Name or instance id.`);
}

/** The error for ids that name no machine of the app. */
function unknownIds(ids: readonly string[], machines: readonly Machine[], scope: AppScope): CliError {
  const what = ids.length === 1 ? `No machine "${ids[0]}"` : `No machines ${ids.map((id) => `"${id}"`).join(', ')}`;
  return new CliError(`${what} in app "${scope.app}" (region ${scope.region}). ${validIds(machines)}`);
}

/** "Valid: alice (i-1), bob (i-2)", for error messages. */
function validIds(machines: readonly Machine[]): string {
  return machines.length === 0 ? 'The app has no machines.' : `Valid: ${machines.map(describe).join(', ')}.`;
}

/** "alice (i-0123…)", plus the Name when it differs from the label. */
function describe(machine: Machine): string {
  const extra = machine.name && machine.name !== machine.label ? `, ${machine.name}` : '';
  return `${machine.label} (${machine.instanceId}${extra})`;
}
