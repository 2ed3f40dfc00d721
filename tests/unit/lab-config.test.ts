/**
 * Unit tests of the config's `lab` section (lib/config/lab-schema.ts and its
 * place in the config): defaults, the loaded `lab.students`, one test per
 * class of rejected value (each asserting the message names the field and what
 * is accepted), and roster files resolved against the config file.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configErrorOf, expectOneProblem } from './config-errors';
import { completeLab, ConfigSchema, LabConfig, loadConfig, renderJsonSchema, timeOfDayProblem, timeZoneProblem, validateConfig } from '../../lib/config';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'rosters');



/** What a time of day must be, as the config says it. */
const TIME = 'expected a time of day "HH:MM" on the 24-hour clock, "00:00" to "23:59", e.g. "18:00"';

/** A config with a lab of two students and `lab` fields merged in. */
function labOf(lab: Record<string, unknown>, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...rest, lab: { roster: ['alice', 'bob'], ...lab } };
}

/** A fresh ed25519 public key as one OpenSSH line. */
function ed25519Line(comment: string): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const sshString = (data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(jwk.x!, 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

describe('defaults', () => {
  test('a lab with only a roster gets every default, its students and the machine instance type', () => {
    // GIVEN a lab section with only an inline roster
    // WHEN the config is validated
    const config = validateConfig({ lab: { roster: ['alice', 'bob'] } });
    // THEN the lab has its defaults, the students and machine.instanceType, and no schedule
    const expected: LabConfig = {
      roster: ['alice', 'bob'],
      workersPerStudent: 0,
      idleStopMinutes: 60,
      trainerPublicKey: null,
      jupyter: false,
      materials: null,
      instanceType: 't3.medium',
      students: [{ id: 'alice', line: 1 }, { id: 'bob', line: 2 }],
    };
    expect(config.lab).toEqual(expected);
    expect(config.lab?.schedule).toBeUndefined();
    // AND there is no cluster
    expect(config.cluster).toBeUndefined();
  });

  test('lab.instanceType defaults to machine.instanceType, and may differ from it', () => {
    // GIVEN a machine type and no lab type WHEN validated THEN the lab takes the machine's
    expect(validateConfig(labOf({}, { machine: { instanceType: 'm7g.large' } })).lab?.instanceType).toBe('m7g.large');
    // AND a lab type of its own wins
    expect(validateConfig(labOf({ instanceType: 't3.small' }, { machine: { instanceType: 'm7g.large' } })).lab?.instanceType).toBe('t3.small');
  });

  test('a schedule gets every day by default', () => {
    // GIVEN a stop time and a zone WHEN validated THEN days are all seven, MON first
    expect(validateConfig(labOf({ schedule: { stop: '18:00', timezone: 'Europe/Berlin' } })).lab?.schedule).toEqual({
      stop: '18:00',
      timezone: 'Europe/Berlin',
      days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'],
    });
  });

  test('a full lab section is kept as written', () => {
    // GIVEN every lab field set
    const trainer = ed25519Line('trainer@laptop');
    const lab = {
      roster: ['alice'],
      workersPerStudent: 2,
      idleStopMinutes: 0,
      trainerPublicKey: trainer,
      schedule: { stop: '18:30', start: '08:00', timezone: 'America/New_York', days: ['MON', 'WED'] },
      jupyter: true,
      materials: path.join(__dirname, '..', 'fixtures', 'materials'),
      instanceType: 'c7g.large',
    };
    // WHEN validated THEN it is unchanged, plus the students and the materials read
    expect(validateConfig({ lab }).lab).toEqual({
      ...lab,
      students: [{ id: 'alice', line: 1 }],
      courseMaterials: { folder: lab.materials, files: 3, bytes: expect.any(Number), requirements: ['requests'] },
    });
  });

  test('the committed default config has no lab', () => {
    // GIVEN the embedded default WHEN validated THEN there is no lab section
    expect(validateConfig({}).lab).toBeUndefined();
  });
});

describe('roster files', () => {
  test('a roster file is read relative to the config file, and lab.roster stays as written', () => {
    // GIVEN a config file naming "class.csv", loaded from another working directory
    // WHEN it is loaded
    const config = loadConfig(path.join(FIXTURES, 'lab.config.json'));
    // THEN the students come from the file next to it, with names, e-mails and lines
    expect(config.lab?.roster).toBe('class.csv');
    expect(config.lab?.idleStopMinutes).toBe(30);
    expect(config.lab?.students.map((s) => [s.id, s.line])).toEqual([['alice', 2], ['bob', 3], ['carol-2', 4]]);
    expect(config.lab?.students[1]).toEqual({ id: 'bob', name: 'Doe, Bob', email: 'bob@example.org', line: 3 });
    // AND the lab, without materials, has no courseMaterials field at all
    expect(Object.prototype.hasOwnProperty.call(config.lab, 'courseMaterials')).toBe(false);
  });

  test('validateConfig reads a roster file from configDir, or else from the working directory', () => {
    // GIVEN parsed data naming a roster file
    // WHEN validated with the fixtures as configDir THEN the file is read from there
    expect(validateConfig({ lab: { roster: 'class.csv' } }, 'inline data', FIXTURES).lab?.students).toHaveLength(3);
    // AND without configDir a relative path is read from the working directory
    const fromCwd = path.relative(process.cwd(), path.join(FIXTURES, 'class.csv'));
    expect(validateConfig({ lab: { roster: fromCwd } }).lab?.students).toHaveLength(3);
  });

  test('roster problems are reported with the config\'s own problems, under one heading', () => {
    // GIVEN a config with a bad field and a roster file with duplicates
    const error = configErrorOf({ machine: { diskGiB: 1 }, lab: { roster: 'duplicates.csv' } }, FIXTURES);
    // WHEN validated THEN all three problems are listed, the config's first
    expect(error.problems).toHaveLength(3);
    expect(error.problems[0]).toMatch(/^machine\.diskGiB: 1 is not accepted/);
    expect(error.problems[1]).toMatch(/^lab\.roster \(duplicates\.csv line 5\): "alice" is not accepted; expected each student once/);
    expect(error.message.split('\n')[0]).toBe('Invalid dasklab config (3 problems):');
  });

  test('a missing roster file fails loading the config, naming the path', () => {
    // GIVEN a config file naming a roster that is not there
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-'));
    try {
      const file = path.join(dir, 'class.json');
      fs.writeFileSync(file, JSON.stringify({ lab: { roster: 'rosters/class-a.csv' } }));
      // WHEN loaded THEN the problem names the path next to the config file
      expect(() => loadConfig(file)).toThrow(`Invalid dasklab config ${file} (1 problem):\n  lab.roster: "rosters/class-a.csv" is not accepted; expected a CSV roster file; file not found: ${path.join(dir, 'rosters', 'class-a.csv')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ConfigSchema alone completes an inline roster, and refuses to pretend it read a file', () => {
    // GIVEN the schema used directly (as template tests do)
    // WHEN an inline roster is parsed THEN the students are there
    expect(ConfigSchema.parse({ lab: { roster: ['alice'] } }).lab?.students).toEqual([{ id: 'alice', line: 1 }]);
    // AND for a roster file, reading lab.students says how to load it
    const lab = ConfigSchema.parse({ lab: { roster: 'class.csv' } }).lab!;
    expect(() => lab.students).toThrow(/the roster file "class.csv" has not been read; .*loadConfig\(file\), or validateConfig\(data, source, configDir\)/);
  });
});

describe('lab.roster', () => {
  test('an inline roster with malformed and duplicate ids is rejected entry by entry', () => {
    // GIVEN an upper-case id, a case-folded duplicate and a number
    const { problems } = configErrorOf({ lab: { roster: ['Alice', 'bob', 'alice', 7] } });
    // WHEN validated THEN each entry is named with its index and reason, in order
    expect(problems).toEqual([
      expect.stringMatching(/^lab\.roster\[0\]: "Alice" is not accepted; expected a student id .*; ids are case-sensitive names: write "alice"$/),
      'lab.roster[2]: "alice" is not accepted; expected each student once; entry [0] has "Alice", the same id apart from case',
      'lab.roster[3]: 7 is not accepted; expected a student id string such as "alice"',
    ]);
  });

  test('an empty inline roster is rejected', () => {
    // GIVEN [] WHEN validated THEN 1 to 500 students are asked for
    expectOneProblem({ lab: { roster: [] } }, 'lab.roster', '[] is not accepted', 'expected 1 to 500 students');
  });

  test('more than 500 inline students are rejected, and 500 are accepted', () => {
    // GIVEN 501 ids WHEN validated THEN the limit is named
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `student-${i + 1}`);
    expectOneProblem({ lab: { roster: ids(501) } }, 'lab.roster', 'expected at most 500 students in one lab');
    // AND 500 ids are a valid lab
    expect(validateConfig({ lab: { roster: ids(500) } }).lab?.students).toHaveLength(500);
  });

  test('a roster that is neither a path nor a list is rejected, naming both forms', () => {
    // GIVEN a number, and a lab without roster WHEN validated THEN both accepted forms are named
    expectOneProblem({ lab: { roster: 5 } }, 'lab.roster', '5 is not accepted', 'the path of a CSV roster file such as "students.csv"', 'a list of student ids such as ["alice", "bob"]');
    expectOneProblem({ lab: {} }, 'lab.roster', 'is missing', 'a list of student ids');
    // AND an empty path is rejected without looking for a file
    expectOneProblem({ lab: { roster: ' ' } }, 'lab.roster', '" " is not accepted', 'the path is empty');
  });
});

describe('lab with cluster', () => {
  test('lab and cluster together are rejected, pointing to lab.workersPerStudent', () => {
    // GIVEN both sections WHEN validated THEN the cluster is rejected with the per-student alternative
    expect(expectOneProblem(labOf({}, { cluster: { workers: 2 } }), 'cluster')).toBe(
      'cluster: {"workers":2} is not accepted; expected either cluster (one shared Dask cluster) or lab (machines per student), not both; for a Dask cluster per student use lab.workersPerStudent',
    );
  });

  test('per-student clusters need dask.distributed among the packages', () => {
    // GIVEN workersPerStudent 2 and plain dask WHEN validated THEN the packages are named
    expectOneProblem(labOf({ workersPerStudent: 2 }, { python: { packages: ['numpy', 'dask'] } }), 'python.packages', '"dask[complete]", "dask[distributed]" or "distributed"', 'lab.workersPerStudent is above 0');
    // AND one machine per student needs no distributed
    expect(validateConfig(labOf({ workersPerStudent: 0 }, { python: { packages: ['numpy', 'dask'] } })).lab?.workersPerStudent).toBe(0);
  });
});

describe('lab numbers', () => {
  test.each([[9], [-1], [1.5], ['2']])('workersPerStudent = %j is rejected with the range', (workersPerStudent) => {
    // GIVEN a value outside 0..8 or not an integer WHEN validated THEN the range is named
    expectOneProblem(labOf({ workersPerStudent }), 'lab.workersPerStudent', `${JSON.stringify(workersPerStudent)} is not accepted`, 'expected an integer from 0 to 8');
  });

  test.each([[1441], [-5], [30.5]])('idleStopMinutes = %j is rejected with the range', (idleStopMinutes) => {
    // GIVEN a value outside 0..1440 WHEN validated THEN the range is named
    expectOneProblem(labOf({ idleStopMinutes }), 'lab.idleStopMinutes', 'expected an integer from 0 to 1440');
  });
});

describe('lab.schedule', () => {
  test.each([['25:00'], ['24:00'], ['18:60'], ['6pm'], ['18.00'], ['']])('stop = %j is rejected', (stop) => {
    // GIVEN a time that is not HH:MM on the 24-hour clock WHEN validated THEN the form is named
    expectOneProblem(labOf({ schedule: { stop, timezone: 'Europe/Berlin' } }), 'lab.schedule.stop', `${JSON.stringify(stop)} is not accepted`, 'expected a time of day "HH:MM" on the 24-hour clock, "00:00" to "23:59"');
  });

  test('a one-digit hour is rejected, with the time to write', () => {
    // GIVEN "8:30" WHEN validated THEN "08:30" is suggested
    expectOneProblem(labOf({ schedule: { start: '8:30', timezone: 'UTC' } }), 'lab.schedule.start', 'write "08:30"');
  });

  test.each([
    ['Europe/Nowhere', 'is not in the time zone database'],
    ['Berlin', 'is not in the time zone database'],
    ['europe/berlin', 'time zone names are case-sensitive: write "Europe/Berlin"'],
    ['+01:00', 'a UTC offset ignores daylight saving time'],
    ['UTC+1', 'a UTC offset ignores daylight saving time'],
    ['Central European Time', 'expected an IANA time zone name'],
  ])('timezone = %j is rejected (%s)', (timezone, reason) => {
    // GIVEN a zone Intl.DateTimeFormat does not know, or not spelled as the tz database spells it
    // WHEN validated THEN the accepted form and the reason are named
    expectOneProblem(labOf({ schedule: { stop: '18:00', timezone } }), 'lab.schedule.timezone', `${JSON.stringify(timezone)} is not accepted`, 'expected an IANA time zone name such as "Europe/Berlin"', reason);
  });

  test('IANA zone names, including links and Etc zones, are accepted', () => {
    // GIVEN canonical names, old links and Etc zones WHEN checked THEN they are accepted as written
    for (const timezone of ['Europe/Berlin', 'America/Argentina/Buenos_Aires', 'UTC', 'Etc/UTC', 'Etc/GMT+1', 'Asia/Calcutta', 'US/Pacific']) {
      expect(timeZoneProblem(timezone)).toBeNull();
    }
  });

  test.each([[null], ['18:00'], [['18:00']]])('a schedule of %j is rejected as not an object, its checks not run on it', (schedule) => {
    // GIVEN a schedule that is not an object WHEN validated THEN one problem: the object and its fields
    expectOneProblem(labOf({ schedule }), 'lab.schedule', `${JSON.stringify(schedule)} is not accepted`, 'expected the lab schedule: an object with the fields stop, start, timezone, days');
  });

  test('completeLab leaves alone a config, or a lab, that is not an object', () => {
    // GIVEN configs the schema refused WHEN completed THEN they come back as they were
    expect(completeLab(null)).toBeNull();
    expect(completeLab({ lab: null })).toEqual({ lab: null });
    expect(completeLab({ lab: ['alice'] })).toEqual({ lab: ['alice'] });
    expect(completeLab({ lab: 'alice' })).toEqual({ lab: 'alice' });
    expect(completeLab('alice')).toBe('alice');
    // AND of a lab with fields of the wrong type, it sets only what those fields give
    const completed = completeLab({ machine: { instanceType: 5 }, lab: { roster: 5, materials: 5 } }) as { lab: Record<string, unknown> };
    expect(Object.getOwnPropertyNames(completed.lab)).toEqual(['roster', 'materials']);
  });

  test('a schedule with neither stop nor start is rejected', () => {
    // GIVEN only a zone WHEN validated THEN stop and/or start are asked for
    expectOneProblem(labOf({ schedule: { timezone: 'Europe/Berlin' } }), 'lab.schedule', '{"timezone":"Europe/Berlin"} is not accepted', 'expected a "stop" time, a "start" time or both');
  });

  test('a schedule without a time zone is rejected', () => {
    // GIVEN stop without timezone WHEN validated THEN the zone is asked for
    expectOneProblem(labOf({ schedule: { stop: '18:00' } }), 'lab.schedule.timezone', 'is missing', 'time zone name');
  });

  test('the same stop and start time is rejected', () => {
    // GIVEN stop = start WHEN validated THEN start is named
    expectOneProblem(labOf({ schedule: { stop: '18:00', start: '18:00', timezone: 'UTC' } }), 'lab.schedule.start', 'expected a start time other than the stop time ("18:00")');
  });

  test('every problem of a schedule at once, and no stop-equals-start problem for a time that is itself refused', () => {
    // GIVEN the same invalid stop and start WHEN validated THEN each is refused for its form only
    expect(configErrorOf(labOf({ schedule: { stop: '25:00', start: '25:00', timezone: 'UTC' } })).problems).toEqual([
      `lab.schedule.stop: "25:00" is not accepted; ${TIME}`,
      `lab.schedule.start: "25:00" is not accepted; ${TIME}`,
    ]);
    // AND a zone of the wrong type with neither time gives both problems, not the first alone
    expect(configErrorOf(labOf({ schedule: { timezone: 1 } })).problems).toEqual([
      'lab.schedule.timezone: 1 is not accepted; expected a time zone name string such as "Europe/Berlin"',
      'lab.schedule: {"timezone":1} is not accepted; expected a "stop" time, a "start" time or both, e.g. {"stop": "18:00", "timezone": "Europe/Berlin"}',
    ]);
  });

  test.each([
    [{ stop: 1800, timezone: 'UTC' }, 'lab.schedule.stop: 1800 is not accepted; expected a time string "HH:MM" such as "18:00"'],
    [{ start: 830, timezone: 'UTC' }, 'lab.schedule.start: 830 is not accepted; expected a time string "HH:MM" such as "08:30"'],
    [{ stop: '18:00', timezone: 1 }, 'lab.schedule.timezone: 1 is not accepted; expected a time zone name string such as "Europe/Berlin"'],
  ])('a schedule field that is not a string: %j', (schedule, line) => {
    // GIVEN a number where a time or a zone name goes WHEN validated THEN the line says a string is expected, with an example
    expect(configErrorOf(labOf({ schedule })).problems).toEqual([line]);
  });

  test.each([
    ['MON', 'lab.schedule.days: "MON" is not accepted; expected a list of 1 to 7 days from "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"'],
    [[], 'lab.schedule.days: [] is not accepted; expected a list of 1 to 7 days from "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"'],
    [[5], 'lab.schedule.days[0]: 5 is not accepted; expected a day: one of "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"'],
    [['Monday'], 'lab.schedule.days[0]: "Monday" is not accepted; expected a day: one of "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"'],
    [['mon'], 'lab.schedule.days[0]: "mon" is not accepted; expected a day: one of "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"; write "MON"'],
    [['FRI', 'MON', 'FRI'], 'lab.schedule.days[2]: "FRI" is not accepted; expected each day once; "FRI" is already entry [0]'],
  ])('days = %j: the whole problem line', (days, line) => {
    // GIVEN days that are not a list of distinct MON..SUN WHEN validated THEN the line names the field, the value and every accepted day
    expect(configErrorOf(labOf({ schedule: { stop: '18:00', timezone: 'UTC', days } })).problems).toEqual([line]);
  });

  test('bad days are rejected: unknown, lower case, repeated, none', () => {
    // GIVEN days that are not MON..SUN WHEN validated THEN the accepted names are listed
    expectOneProblem(labOf({ schedule: { stop: '18:00', timezone: 'UTC', days: ['Monday'] } }), 'lab.schedule.days[0]', '"Monday" is not accepted', 'one of "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"');
    expectOneProblem(labOf({ schedule: { stop: '18:00', timezone: 'UTC', days: ['mon'] } }), 'lab.schedule.days[0]', 'write "MON"');
    expectOneProblem(labOf({ schedule: { stop: '18:00', timezone: 'UTC', days: ['MON', 'MON'] } }), 'lab.schedule.days[1]', 'expected each day once');
    expectOneProblem(labOf({ schedule: { stop: '18:00', timezone: 'UTC', days: [] } }), 'lab.schedule.days', 'expected a list of 1 to 7 days');
  });
});

describe('the time and time zone checks, message by message', () => {
  const ZONE = 'expected an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"';
  const OFFSET = `${ZONE}; a UTC offset ignores daylight saving time: name the zone instead`;

  test.each([
    ['00:00', null],
    ['23:59', null],
    ['8:30', `${TIME}; write "08:30"`],
    ['118:00', TIME],
    ['18:000', TIME],
    ['18:0', TIME],
    ['x8:30', TIME],
    ['8:301', TIME],
    ['6pm', TIME],
  ])('timeOfDayProblem(%j) is %j', (time, problem) => {
    // GIVEN a time as written WHEN checked THEN the whole message is exactly this: the hint only for a one-digit hour
    expect(timeOfDayProblem(time)).toBe(problem);
  });

  test.each([
    ['Europe/Berlin', null],
    ['Central European Time', ZONE],
    ['CET +1', ZONE],
    ['_Europe/Berlin', ZONE],
    ['UTC +1', OFFSET],
    ['UTC+ 1', OFFSET],
    ['GMT-3', OFFSET],
    ['+01:00', OFFSET],
    ['Europe/Nowhere', `${ZONE}; "Europe/Nowhere" is not in the time zone database`],
    ['europe/berlin', `${ZONE}; time zone names are case-sensitive: write "Europe/Berlin"`],
    ['utc', `${ZONE}; time zone names are case-sensitive: write "UTC"`],
    ['US/Pacific', null],
    ['us/pacific', `${ZONE}; time zone names are case-sensitive and each part starts with a capital letter`],
    ['uS/Pacific', `${ZONE}; time zone names are case-sensitive and each part starts with a capital letter`],
  ])('timeZoneProblem(%j) is %j', (zone, problem) => {
    // GIVEN a zone as written WHEN checked THEN the whole message is exactly this: the offset hint only for an offset
    expect(timeZoneProblem(zone)).toBe(problem);
  });
});

describe('lab.trainerPublicKey', () => {
  test('an OpenSSH public key is accepted', () => {
    // GIVEN a fresh ed25519 key WHEN validated THEN it is kept
    const key = ed25519Line('trainer@laptop');
    expect(validateConfig(labOf({ trainerPublicKey: key })).lab?.trainerPublicKey).toBe(key);
  });

  test('a trainer key that is not a string is rejected, naming the form', () => {
    expect(configErrorOf(labOf({ trainerPublicKey: 5 })).problems).toEqual(['lab.trainerPublicKey: 5 is not accepted; expected an OpenSSH public key line ("ssh-ed25519 AAAA... comment") or null']);
  });

  test('text that is not a public key line is rejected with the expected form', () => {
    // GIVEN a random string WHEN validated THEN the OpenSSH line format is named, as for access.publicKey
    expectOneProblem(labOf({ trainerPublicKey: 'my key' }), 'lab.trainerPublicKey', '"my key" is not accepted', '"ssh-ed25519 AAAA... [comment]"');
  });

  test('a private key is rejected and not echoed', () => {
    // GIVEN a private key pasted as the trainer key WHEN validated
    const privateKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const line = expectOneProblem(labOf({ trainerPublicKey: privateKey }), 'lab.trainerPublicKey', 'PRIVATE key', '(not shown)');
    // THEN no part of it is in the message
    expect(line).not.toContain(privateKey.split('\n')[1].slice(0, 16));
  });
});

describe('lab.instanceType', () => {
  test('a malformed or unknown instance type is rejected like machine.instanceType', () => {
    // GIVEN a type without a dot, and a size t3 does not come in WHEN validated THEN the same reasons are given
    expectOneProblem(labOf({ instanceType: 't3medium' }), 'lab.instanceType', '"t3medium" is not accepted', '<family>.<size>');
    expectOneProblem(labOf({ instanceType: 't3.metal' }), 'lab.instanceType', 'expected a size that t3 comes in');
    expect(configErrorOf(labOf({ instanceType: 3 })).problems).toEqual(['lab.instanceType: 3 is not accepted; expected an EC2 instance type string such as "t3.medium"']);
  });
});

describe('unknown lab fields and the JSON schema', () => {
  test('an unknown lab field is rejected with a suggestion and the accepted fields', () => {
    // GIVEN "students" and a misspelled "idleStopMinute" WHEN validated THEN each is named
    const { problems } = configErrorOf(labOf({ students: ['x'], idleStopMinute: 5 }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^lab\.students: \["x"\] is not accepted; unknown field; expected one of the fields of lab: roster, workersPerStudent, idleStopMinutes, trainerPublicKey, schedule, jupyter, materials, instanceType$/);
    expect(problems[1]).toContain('lab.idleStopMinute: 5 is not accepted; unknown field (did you mean "idleStopMinutes"?)');
  });

  test('the JSON schema offers the lab section, with roster as its only required field', () => {
    // GIVEN the rendered schema WHEN its lab section is read
    const lab = JSON.parse(renderJsonSchema()).properties.lab;
    // THEN roster is required and accepts a path or a list of strings, and the schedule needs a zone
    expect(lab.required).toEqual(['roster']);
    expect(lab.additionalProperties).toBe(false);
    expect(lab.properties.roster.anyOf.map((s: { type: string }) => s.type)).toEqual(['string', 'array']);
    expect(lab.properties.roster.anyOf[1]).toMatchObject({ items: { type: 'string' }, minItems: 1, maxItems: 500 });
    expect(lab.properties.schedule.required).toEqual(['timezone']);
    expect(lab.properties.schedule.properties.days.items.enum).toEqual(['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN']);
  });
});
