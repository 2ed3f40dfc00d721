/**
 * The dasklab config: schema, types, loading and the checks behind them.
 *
 * Typical use in the app entry:
 *
 *     const config = loadConfig(resolveConfigPath(app.node.tryGetContext('config'), process.cwd()));
 */
export { ConfigSchema, DEFAULT_PACKAGES, NAME_PATTERN, NAME_RULE, VENV_ROOTS, UBUNTU_RELEASES, UBUNTU_RELEASE_NAMES } from './schema';
export type { ClusterConfig, DasklabConfig, DasklabConfigInput, UbuntuRelease } from './schema';
export { completeLab, LabSchema, MAX_IDLE_STOP_MINUTES, MAX_WORKERS_PER_STUDENT, rosterPathProblem, timeOfDayProblem, timeZoneProblem, WEEKDAYS } from './lab-schema';
export type { LabConfig, LabConfigInput, LabSchedule, Weekday } from './lab-schema';
export {
  findStudentProblems,
  formatRosterProblem,
  loadRoster,
  MAX_STUDENT_ID_LENGTH,
  MAX_STUDENTS,
  parseRosterCsv,
  ROSTER_COLUMNS,
  rosterSizeProblem,
  studentIdProblem,
  validateStudentIds,
} from './roster';
export type { RosterColumn, RosterProblem, RosterSource, Student } from './roster';
export { DEFAULT_CONFIG_FILE, loadConfig, resolveConfigPath, validateConfig } from './load';
export { ConfigError, formatIssues, formatPath, formatValue } from './errors';
export { renderJsonSchema, SCHEMA_ID } from './json-schema';
export { INSTANCE_FAMILIES, architectureOf, instanceTypeProblem, parseInstanceType } from './instance-types';
export type { Architecture, InstanceFamily, ParsedInstanceType } from './instance-types';
export { normalizeProjectName, parseRequirement, requirementProblem } from './requirement';
export type { Requirement } from './requirement';
export { cidrProblem, parseCidr } from './cidr';
export type { Cidr } from './cidr';
export { MIN_RSA_BITS, SUPPORTED_KEY_TYPES, looksLikePrivateKey, publicKeyProblem } from './ssh-public-key';
