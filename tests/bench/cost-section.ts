import { BenchApp } from './apps';
import { ClassDay, classDay } from './class-day';
import { readCloudAssembly } from './cloud-assembly';
import { fleetOf } from './fleet';
import { FleetCost, fleetCost, PRICES } from './fleet-cost';
import { heading, renderTable } from './table';

/**
 * Section 4: what the benchmarked fleets cost per hour on demand, and what idle
 * stop and the daily schedule save in a typical class day.
 */

export interface CostSection {
  prices: { region: string; date: string; currency: string; source: string };
  fleets: FleetCost[];
  classDay?: ClassDay;
  errors: string[];
}

export function runCostSection(apps: readonly (BenchApp & { outDir?: string })[]): CostSection {
  const fleets: FleetCost[] = [];
  const errors: string[] = [];
  for (const app of apps) {
    if (!app.outDir) continue;
    try {
      fleets.push(fleetCost(app.id, fleetOf(readCloudAssembly(app.outDir))));
    } catch (err) {
      errors.push(`${app.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let day: ClassDay | undefined;
  try {
    day = classDay();
  } catch (err) {
    errors.push(`class day: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    prices: { region: PRICES.region, date: PRICES.date, currency: PRICES.currency, source: PRICES.$comment },
    fleets,
    classDay: day,
    errors,
  };
}

const usd = (v: number) => `$${v.toFixed(v > 0 && v < 1 ? 4 : 2)}`;

export function formatCostSection(c: CostSection): string {
  const lines = [heading(`4. Cost (on demand, ${c.prices.region}, list prices of ${c.prices.date}, ${c.prices.currency})`)];
  lines.push(
    renderTable(
      ['app', 'machines', 'types', 'instances/h', 'IPv4/h', 'disks/h', 'total/h', 'per 730 h'],
      c.fleets.map((f) => [
        f.app,
        f.machines,
        Object.entries(f.types).map(([t, n]) => `${n} x ${t}`).join(', '),
        usd(f.hourly.instances),
        usd(f.hourly.publicIpv4),
        usd(f.hourly.disks),
        usd(f.hourly.total),
        usd(f.monthly),
      ]),
    ),
  );
  for (const f of c.fleets) {
    if (f.unpriced.length) lines.push(`${f.app}: no price for ${f.unpriced.join(', ')} (not in the total)`);
    if (f.spotPricedOnDemand) lines.push(`${f.app}: ${f.spotPricedOnDemand} spot machine(s) priced at on-demand`);
  }
  if (c.classDay) {
    const a = c.classDay.assumptions;
    lines.push(
      '',
      `class day: ${a.students} x ${a.instanceType} (${a.diskGiB} GiB gp3, public IPv4), class ${a.class.start}-${a.class.end} with breaks of ` +
        `${a.breaks.map((b) => `${b.minutes} min`).join(', ')}; ${a.courseDays}-day course (assumptions: tests/bench/class-day-assumptions.json)`,
    );
    lines.push(
      renderTable(
        ['policy', 'h on/day', 'restarts/day', 'cost/day', 'saved/day', `saved/${a.courseDays} days`, 'saved'],
        c.classDay.days.map((d) => [d.policy, d.hoursOn, d.restartsForClass, usd(d.costPerDay), usd(d.savingPerDay), usd(d.savingPerCourse), `${d.savingPercent}%`]),
      ),
    );
    for (const n of c.classDay.notes) lines.push(`note: ${n}`);
  }
  for (const e of c.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}
