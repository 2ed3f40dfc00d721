import assumptions from './class-day-assumptions.json';
import { diskHourly, instanceHourly, PRICES } from './fleet-cost';

/**
 * A typical class day, simulated minute by minute for one student machine
 * under four policies: always on, idle stop only, the daily schedule only, and
 * both. The rules are the machines': idle stop powers a machine off after
 * `idleStopMinutes` minutes in a row with nobody logged in and the CPU near
 * idle, counting from its boot; the schedule stops and starts it at fixed
 * times. The trainer starts stopped machines when class starts or resumes.
 * The second simulated day is reported (the first starts from an assumed
 * state).
 */

export const CLASS_DAY = assumptions;

export interface Policy {
  name: string;
  idleStopMinutes: number;
  schedule?: { start: string; stop: string };
}

export interface DayResult {
  policy: string;
  /** Hours a machine runs per day. */
  hoursOn: number;
  /** Times per day per machine the trainer must start a stopped machine for class. */
  restartsForClass: number;
  /** Cost of the class's machines per day (instances + public IPv4 while running, disks always). */
  costPerDay: number;
  savingPerDay: number;
  savingPerCourse: number;
  savingPercent: number;
}

const minuteOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

/** True for minutes of the day in which students work on their machines. */
function busyMinutes(): boolean[] {
  const busy = new Array<boolean>(1440).fill(false);
  for (let t = minuteOf(assumptions.class.start); t < minuteOf(assumptions.class.end); t++) busy[t] = true;
  for (const b of assumptions.breaks) for (let t = minuteOf(b.start); t < minuteOf(b.start) + b.minutes; t++) busy[t] = false;
  return busy;
}

/** Simulates two days; returns the second day's minutes on and class restarts. */
export function simulateDay(policy: Policy): { minutesOn: number; restartsForClass: number } {
  const busy = busyMinutes();
  let on = true;
  let idleFor = 0;
  let minutesOn = 0;
  let restarts = 0;
  for (let day = 0; day < 2; day++) {
    for (let t = 0; t < 1440; t++) {
      if (policy.schedule && t === minuteOf(policy.schedule.stop)) on = false;
      if (policy.schedule && t === minuteOf(policy.schedule.start) && !on) {
        on = true;
        idleFor = 0;
      }
      if (busy[t] && !on) {
        // Class starts or resumes on a stopped machine: the trainer starts it.
        on = true;
        idleFor = 0;
        if (day === 1) restarts++;
      }
      if (!on) continue;
      if (day === 1) minutesOn++;
      idleFor = busy[t] ? 0 : idleFor + 1;
      if (policy.idleStopMinutes > 0 && idleFor >= policy.idleStopMinutes) {
        on = false;
        idleFor = 0;
      }
    }
  }
  return { minutesOn, restartsForClass: restarts };
}

export function policies(): Policy[] {
  const { idleStopMinutes, schedule } = assumptions;
  return [
    { name: 'always on (no idle stop, no schedule)', idleStopMinutes: 0 },
    { name: `idle stop ${idleStopMinutes} min`, idleStopMinutes },
    { name: `schedule ${schedule.start}-${schedule.stop}`, idleStopMinutes: 0, schedule },
    { name: `idle stop ${idleStopMinutes} min + schedule`, idleStopMinutes, schedule },
  ];
}

export interface ClassDay {
  assumptions: typeof assumptions;
  perMachineHourly: { running: number; disk: number };
  days: DayResult[];
  notes: string[];
}

export function classDay(): ClassDay {
  const price = instanceHourly(assumptions.instanceType);
  if (price === undefined) throw new Error(`class-day-assumptions.json: no price for ${assumptions.instanceType} in prices.json`);
  const running = price + PRICES.publicIpv4Hourly;
  const disk = diskHourly(assumptions.diskGiB);
  const costOf = (hoursOn: number) => assumptions.students * (hoursOn * running + 24 * disk);
  const results = policies().map((p) => ({ p, sim: simulateDay(p) }));
  const baseline = costOf(results[0].sim.minutesOn / 60);
  const days: DayResult[] = results.map(({ p, sim }) => {
    const hoursOn = sim.minutesOn / 60;
    const cost = costOf(hoursOn);
    return {
      policy: p.name,
      hoursOn: Math.round(hoursOn * 100) / 100,
      restartsForClass: sim.restartsForClass,
      costPerDay: Math.round(cost * 100) / 100,
      savingPerDay: Math.round((baseline - cost) * 100) / 100,
      savingPerCourse: Math.round((baseline - cost) * assumptions.courseDays * 100) / 100,
      savingPercent: Math.round((100 * (baseline - cost)) / baseline),
    };
  });
  const notes: string[] = [];
  const lead = minuteOf(assumptions.class.start) - minuteOf(assumptions.schedule.start);
  if (assumptions.idleStopMinutes > 0 && lead >= assumptions.idleStopMinutes) {
    notes.push(
      `the schedule starts machines ${lead} min before class, at least idleStopMinutes (${assumptions.idleStopMinutes}): ` +
        'with both, idle stop powers them off again just before students arrive',
    );
  }
  const inClass = assumptions.breaks.filter((b) => b.minutes > assumptions.idleStopMinutes);
  notes.push(
    inClass.length
      ? `breaks longer than idleStopMinutes (${inClass.map((b) => `${b.minutes} min`).join(', ')}) stop machines during class; the trainer must start them again`
      : `no break is longer than idleStopMinutes (${assumptions.idleStopMinutes} min): idle stop saves nothing during class, only after it`,
  );
  return { assumptions, perMachineHourly: { running: Math.round(running * 10000) / 10000, disk: Math.round(disk * 100000) / 100000 }, days, notes };
}
