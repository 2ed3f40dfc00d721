import { FleetMachine } from './fleet';
import prices from './prices.json';

/**
 * The on-demand hourly cost of a fleet from the price table (prices.json, with
 * its region and date): instances, their public IPv4 addresses, and their gp3
 * disks prorated per hour. Spot instances are priced at on-demand (an upper
 * bound) and counted.
 */

export const PRICES = prices;
const INSTANCE_HOURLY: Record<string, number> = prices.instanceHourly;

export interface HourlyCost {
  instances: number;
  publicIpv4: number;
  disks: number;
  total: number;
}

export interface FleetCost {
  app: string;
  machines: number;
  /** Instance type -> count. */
  types: Record<string, number>;
  hourly: HourlyCost;
  /** Per 30-day month at this hourly rate (730 h), for scale. */
  monthly: number;
  spotPricedOnDemand: number;
  /** Types missing from the price table (not in the total). */
  unpriced: string[];
  /** Volume types other than gp3 (priced as gp3). */
  otherVolumeTypes: string[];
}

/** Hourly price of one machine's disk. */
export function diskHourly(diskGiB: number): number {
  return (diskGiB * prices.gp3PerGbMonth) / prices.hoursPerMonth;
}

/** Hourly price of an instance type, or undefined if not in the table. */
export function instanceHourly(type: string): number | undefined {
  return INSTANCE_HOURLY[type];
}

const cents = (usd: number) => Math.round(usd * 10000) / 10000;

export function fleetCost(app: string, machines: FleetMachine[]): FleetCost {
  const types: Record<string, number> = {};
  const unpriced = new Set<string>();
  const otherVolumes = new Set<string>();
  const hourly: HourlyCost = { instances: 0, publicIpv4: 0, disks: 0, total: 0 };
  for (const m of machines) {
    types[m.instanceType] = (types[m.instanceType] ?? 0) + 1;
    const price = instanceHourly(m.instanceType);
    if (price === undefined) unpriced.add(m.instanceType);
    else hourly.instances += price;
    if (m.publicIpv4) hourly.publicIpv4 += prices.publicIpv4Hourly;
    hourly.disks += diskHourly(m.diskGiB);
    for (const v of m.volumeTypes) if (v !== 'gp3') otherVolumes.add(v);
  }
  hourly.total = hourly.instances + hourly.publicIpv4 + hourly.disks;
  return {
    app,
    machines: machines.length,
    types,
    hourly: { instances: cents(hourly.instances), publicIpv4: cents(hourly.publicIpv4), disks: cents(hourly.disks), total: cents(hourly.total) },
    monthly: Math.round(hourly.total * prices.hoursPerMonth * 100) / 100,
    spotPricedOnDemand: machines.filter((m) => m.spot).length,
    unpriced: [...unpriced],
    otherVolumeTypes: [...otherVolumes],
  };
}
