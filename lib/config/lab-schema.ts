/**
 * The `lab` section of the config: one machine, or one small Dask cluster, per
 * student of a class, from a roster.
 *
 *     "lab": { "roster": "students.csv", "workersPerStudent": 0, "idleStopMinutes": 60,
 *              "trainerPublicKey": null, "instanceType": "t3.medium",
 *              "schedule": { "stop": "18:00", "start": "08:30", "timezone": "Europe/Berlin",
 *                            "days": ["MON", "TUE", "WED", "THU", "FRI"] } }
 *
 * Same conventions as schema.ts (strict objects, an "expected ..." message on
 * every check, no coercion, `describe()` on every field for the JSON schema).
 * The small schema builders below mirror schema.ts's private ones; they are
 * repeated here rather than imported because schema.ts imports this file.
 *
 * What the section is after loading ({@link LabConfig}) has two fields more
 * than the user writes: `students`, the checked roster, and `instanceType`,
 * resolved to `machine.instanceType` when not set. See {@link completeLab}.
 */
import { z } from 'zod';
import { bool, checkedString, defineUnreadGetter, intRange, section, writtenPathProblem } from './schema-blocks';
import { instanceTypeProblem } from './instance-types';
import { CourseMaterials, MAX_MATERIALS_BYTES, MAX_MATERIALS_FILES, materialsPathProblem } from './course-materials';
import { findStudentProblems, MAX_STUDENTS, rosterSizeProblem, Student } from './roster';
import { looksLikePrivateKey, publicKeyProblem } from './ssh-public-key';

/** Days of the week as `lab.schedule.days` names them (EventBridge cron spells them the same). */
export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;

/** A day of the week, `"MON"` to `"SUN"`. */
export type Weekday = (typeof WEEKDAYS)[number];

/** Most workers per student when each student gets a small Dask cluster. */
export const MAX_WORKERS_PER_STUDENT = 8;

/** Longest idle time before a machine is stopped: one day. */
export const MAX_IDLE_STOP_MINUTES = 1440;

/** "HH:MM", 00:00 to 23:59. */
const TIME_OF_DAY_PATTERN = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/** A tz database name: parts of letters, digits, "_", "+", "-", separated by "/". */
const TIME_ZONE_PATTERN = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** Longest roster path. */
const MAX_ROSTER_PATH_LENGTH = 1024;

/** A hint for editors only (the real check is `instanceTypeProblem`); as in schema.ts. */
const INSTANCE_TYPE_HINT = { pattern: '^[a-z][a-z0-9-]*\\.[a-z0-9-]+$' };

const ROSTER_EXPECTED =
  'expected the path of a CSV roster file such as "students.csv" (relative to the config file) or a list of student ids such as ["alice", "bob"]';

const TIME_EXPECTED = 'expected a time of day "HH:MM" on the 24-hour clock, "00:00" to "23:59", e.g. "18:00"';

const TIME_ZONE_EXPECTED = 'expected an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"';

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/** Why `s` is not a time of day "HH:MM", or null. */
export function timeOfDayProblem(s: string): string | null {
  if (TIME_OF_DAY_PATTERN.test(s)) {
    return null;
  }
  if (/^[0-9]:[0-5][0-9]$/.test(s)) {
    return `${TIME_EXPECTED}; write "0${s}"`;
  }
  return TIME_EXPECTED;
}

/**
 * Why `tz` is not an IANA time zone name (as EventBridge Scheduler takes in
 * `ScheduleExpressionTimezone`), or null. The name must be one Node's time zone
 * database (Intl.DateTimeFormat) knows, spelled with its capitals: dasklab
 * does not rewrite "europe/berlin", it says what to write.
 */
export function timeZoneProblem(tz: string): string | null {
  const offset = /^((UTC|GMT)\s*)?[+-]\s*[0-9]/i.test(tz)
    ? `${TIME_ZONE_EXPECTED}; a UTC offset ignores daylight saving time: name the zone instead`
    : undefined;
  if (!TIME_ZONE_PATTERN.test(tz)) {
    return offset ?? TIME_ZONE_EXPECTED;
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return offset ?? `${TIME_ZONE_EXPECTED}; ${JSON.stringify(tz)} is not in the time zone database`;
  }
  // Intl accepts any capitalization; the tz database names (and AWS) do not.
  const canonical = [...Intl.supportedValuesOf('timeZone'), 'UTC', resolved].find((name) => name.toLowerCase() === tz.toLowerCase());
  if (canonical !== undefined && canonical !== tz) {
    return `${TIME_ZONE_EXPECTED}; time zone names are case-sensitive: write ${JSON.stringify(canonical)}`;
  }
  if (tz.split('/').some((part) => !/^[A-Z]/.test(part))) {
    return `${TIME_ZONE_EXPECTED}; time zone names are case-sensitive and each part starts with a capital letter`;
  }
  return null;
}

/** Why `p` cannot be the path of a roster file, or null. (Whether the file exists is checked when it is read.) */
export function rosterPathProblem(p: string): string | null {
  return writtenPathProblem(ROSTER_EXPECTED, p, MAX_ROSTER_PATH_LENGTH);
}

/** True for a JSON object (the `when` of refinements that must run even when a field failed). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------
// The roster field
// ---------------------------------------------------------------------------

/**
 * An inline roster: a list of ids. The elements are checked here, not by
 * `z.array(z.string())`, because an element's type error would make the union
 * below drop every specific message for its generic one.
 */
const InlineRosterSchema = z
  .array(z.unknown(), { error: ROSTER_EXPECTED })
  .superRefine(
    (entries, ctx) => {
      const size = rosterSizeProblem(entries.length);
      if (size !== null) {
        ctx.addIssue({ code: 'custom', input: entries, message: size.message });
      }
      const students: Student[] = [];
      const problems: { index: number; input: unknown; message: string }[] = [];
      entries.forEach((entry, i) => {
        if (typeof entry === 'string') {
          students.push({ id: entry, line: i + 1 });
        } else {
          problems.push({ index: i, input: entry, message: 'expected a student id string such as "alice"' });
        }
      });
      for (const problem of findStudentProblems(students, 'inline')) {
        if (problem.line !== undefined) {
          problems.push({ index: problem.line - 1, input: problem.value, message: problem.message });
        }
      }
      // In roster order, as for a roster file (the sort is stable: one entry's problems keep their order).
      problems.sort((a, b) => a.index - b.index);
      for (const { index, input, message } of problems) {
        ctx.addIssue({ code: 'custom', path: [index], input, message });
      }
    },
    { when: (payload) => Array.isArray(payload.value) },
  )
  .meta({ items: { type: 'string' }, minItems: 1, maxItems: MAX_STUDENTS });

const RosterSchema = z.union([checkedString(ROSTER_EXPECTED, rosterPathProblem), InlineRosterSchema], { error: ROSTER_EXPECTED });

// ---------------------------------------------------------------------------
// The schedule
// ---------------------------------------------------------------------------

const DAYS_EXPECTED = `expected a list of 1 to 7 days from ${WEEKDAYS.map((d) => `"${d}"`).join(', ')}`;

/** A list of distinct days. */
function dayList() {
  const day = z.enum(WEEKDAYS, {
    error: (issue) => {
      const upper = typeof issue.input === 'string' ? issue.input.toUpperCase() : '';
      const hint = (WEEKDAYS as readonly string[]).includes(upper) ? `; write "${upper}"` : '';
      return `expected a day: one of ${WEEKDAYS.map((d) => `"${d}"`).join(', ')}${hint}`;
    },
  });
  return z
    .array(day, { error: DAYS_EXPECTED })
    .min(1, { error: DAYS_EXPECTED })
    .superRefine((days, ctx) => {
      days.forEach((d, i) => {
        const first = days.indexOf(d);
        if (first !== i) {
          ctx.addIssue({ code: 'custom', path: [i], input: d, message: `expected each day once; "${d}" is already entry [${first}]` });
        }
      });
    });
}

const ScheduleSchema = section('the lab schedule', {
  stop: checkedString('expected a time string "HH:MM" such as "18:00"', timeOfDayProblem)
    .optional()
    .describe('Time of day ("HH:MM", 24-hour clock, in `timezone`) at which every lab machine is stopped (not terminated), on each of `days`.'),
  start: checkedString('expected a time string "HH:MM" such as "08:30"', timeOfDayProblem)
    .optional()
    .describe('Time of day ("HH:MM", 24-hour clock, in `timezone`) at which every lab machine is started, on each of `days`.'),
  timezone: checkedString('expected a time zone name string such as "Europe/Berlin"', timeZoneProblem)
    .describe('IANA time zone of `stop` and `start`, e.g. "Europe/Berlin", "America/New_York", "UTC". Daylight saving time is followed.'),
  days: dayList()
    .default([...WEEKDAYS])
    .describe('Days on which `stop` and `start` apply, from "MON" to "SUN". Default: every day.'),
}).superRefine(
  (schedule, ctx) => {
    // Runs when a field failed its own check too (every problem at once), hence the guards.
    const { stop, start } = schedule as Record<string, unknown>;
    if (stop === undefined && start === undefined) {
      ctx.addIssue({
        code: 'custom',
        input: schedule,
        message: 'expected a "stop" time, a "start" time or both, e.g. {"stop": "18:00", "timezone": "Europe/Berlin"}',
      });
    }
    if (typeof stop === 'string' && timeOfDayProblem(stop) === null && stop === start) {
      ctx.addIssue({ code: 'custom', path: ['start'], input: start, message: `expected a start time other than the stop time ("${stop}")` });
    }
  },
  { when: (payload) => isObject(payload.value) },
);

// ---------------------------------------------------------------------------
// The section
// ---------------------------------------------------------------------------

/** The lab section as the user writes it, validated. Its output lacks `students` and may lack `instanceType`. */
const LabSettingsSchema = section('the lab settings', {
  roster: RosterSchema.describe(
    `The students: the path of a CSV file, relative to the config file (header "id,name,email"; only id is required), or a list of ids, e.g. ["alice", "bob"]. 1 to ${MAX_STUDENTS} students. ` +
      'An id is 1 to 32 of a-z, 0-9 and single "-", starting with a letter and ending with a letter or digit; it becomes part of resource names and tags.',
  ),
  workersPerStudent: intRange(0, MAX_WORKERS_PER_STUDENT)
    .default(0)
    .describe(`0: one machine per student. 1 to ${MAX_WORKERS_PER_STUDENT}: each student gets a Dask scheduler and this many workers of their own.`),
  idleStopMinutes: intRange(0, MAX_IDLE_STOP_MINUTES)
    .default(60)
    .describe('Stop (not terminate) a machine after this many minutes with nobody logged in (SSH or SSM) and the CPU near idle. 0: never stop idle machines. At most 1440 (a day).'),
  trainerPublicKey: checkedString('expected an OpenSSH public key line ("ssh-ed25519 AAAA... comment") or null', publicKeyProblem, looksLikePrivateKey)
    .nullable()
    .default(null)
    .describe('The trainer\'s OpenSSH public key ("ssh-ed25519 AAAA... comment" or "ssh-rsa ..." of at least 2048 bits), installed on every lab machine besides the student\'s own key. Never a private key. null: none.'),
  schedule: ScheduleSchema.optional().describe('Optional daily stop and/or start of every lab machine at fixed times, e.g. {"stop": "18:00", "start": "08:30", "timezone": "Europe/Berlin", "days": ["MON", "TUE", "WED", "THU", "FRI"]}.'),
  jupyter: bool()
    .default(false)
    .describe('JupyterLab on each student\'s machine (their scheduler when they have workers), on the machine\'s loopback only, reached through the student\'s own SSH tunnel; `Client()` in a notebook finds the student\'s own scheduler. Its token is made on the machine and shown to the student on SSH login.'),
  materials: checkedString('expected the path of a folder of course materials, e.g. "course/", or null', materialsPathProblem)
    .nullable()
    .default(null)
    .describe(
      'A local folder of course materials (notebooks, data, and a requirements.txt of the course\'s own pip packages), relative to the config file. ' +
        `Shipped as one asset with the deploy; each student finds it in ~/course (JupyterLab's root) when their machine is ready. At most ${MAX_MATERIALS_FILES} files and ${MAX_MATERIALS_BYTES / 1024 / 1024} MiB. null: none.`,
    ),
  instanceType: checkedString('expected an EC2 instance type string such as "t3.medium"', instanceTypeProblem)
    .meta(INSTANCE_TYPE_HINT)
    .optional()
    .describe('EC2 instance type of each student\'s machines (the student machine, or their scheduler and workers), e.g. "t3.medium". Default: machine.instanceType.'),
});

/** Flattens an intersection type for readable hovers. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The validated `lab.schedule`. */
export type LabSchedule = NonNullable<z.output<typeof LabSettingsSchema>['schedule']>;

/**
 * The `lab` section of a loaded config (`loadConfig`, `validateConfig`): the
 * settings with their defaults, plus
 * - `instanceType`: `lab.instanceType`, or `machine.instanceType` when not set;
 * - `students`: the checked roster, in roster order. `roster` stays as written.
 */
export type LabConfig = Flat<
  Omit<z.output<typeof LabSettingsSchema>, 'roster' | 'instanceType'> & {
    /** `lab.roster` as written: a CSV file path (relative to the config file) or a list of ids. */
    roster: string | string[];
    /** EC2 instance type of each student's machines. @default machine.instanceType */
    instanceType: string;
    /** The students of the roster, checked, in roster order. */
    students: Student[];
    /** The folder `materials` names, read and checked by the loader; undefined when `materials` is null. */
    courseMaterials?: CourseMaterials;
  }
>;

/** What a user may write as `lab`. */
export type LabConfigInput = Flat<Omit<z.input<typeof LabSettingsSchema>, 'roster'> & { roster: string | string[] }>;

/**
 * The schema of the `lab` section. At run time it is the strict object of the
 * settings; its declared output is {@link LabConfig}, whose extra fields
 * {@link completeLab} (run by ConfigSchema) and the loader (roster files) fill in.
 */
export const LabSchema = LabSettingsSchema as unknown as z.ZodType<LabConfig, LabConfigInput>;

/**
 * Completes the lab section of a config the schema has parsed: sets
 * `lab.instanceType` to `machine.instanceType` when not given, and `lab.students`
 * from an inline roster. ConfigSchema runs this as its last step.
 *
 * A roster file cannot be read here (the schema knows no directory and does no
 * I/O): `loadConfig` and `validateConfig` read it and set `students`. Until
 * then `lab.students` is a getter that throws, saying so, rather than an empty
 * list that would build a lab of nobody.
 *
 * Guards every field: it also runs on configs with problems elsewhere.
 */
export function completeLab<C>(config: C): C {
  if (!isObject(config) || !isObject(config.lab)) {
    return config;
  }
  const lab: Record<string, unknown> = { ...config.lab };
  const machine = config.machine;
  if (lab.instanceType === undefined && isObject(machine) && typeof machine.instanceType === 'string') {
    lab.instanceType = machine.instanceType;
  }
  const roster = lab.roster;
  if (Array.isArray(roster)) {
    lab.students = roster.map((id, i): Student => ({ id: String(id), line: i + 1 }));
  } else if (typeof roster === 'string') {
    defineUnreadGetter(
      lab,
      'students',
      `lab.students: the roster file ${JSON.stringify(roster)} has not been read; ConfigSchema does not read files. ` +
        'Use loadConfig(file), or validateConfig(data, source, configDir), which read it relative to the config\'s directory.',
    );
  }
  if (typeof lab.materials === 'string') {
    const materials = lab.materials;
    defineUnreadGetter(
      lab,
      'courseMaterials',
      `lab.courseMaterials: the folder ${JSON.stringify(materials)} has not been read; ConfigSchema does not read files. ` +
        'Use loadConfig(file), or validateConfig(data, source, configDir), which read it relative to the config\'s directory.',
    );
  }
  return { ...config, lab };
}
