/**
 * Which EC2 vCPU quota an instance type counts against. EC2 limits running
 * On-Demand (and, separately, Spot) instances by the total vCPUs per group of
 * families; Service Quotas names each group by a code.
 */

/** A vCPU quota of the Service Quotas service code `ec2`. */
export interface VcpuQuota {
  readonly code: string;
  readonly name: string;
}

/** A group of families, by the letters the family name starts with. */
interface Bucket {
  readonly prefixes: readonly string[];
  readonly onDemand: VcpuQuota;
  /** Families without Spot have none. */
  readonly spot?: VcpuQuota;
}

/**
 * Longer prefixes first: `inf`, `trn`, `hpc`, `dl`, `vt` and `u-` would
 * otherwise be taken for the standard `i`, `t`, `h`, `d` families, or none.
 * Codes as Service Quotas lists them for `ec2` (ListServiceQuotas/ListAWSDefaultServiceQuotas).
 */
const BUCKETS: readonly Bucket[] = [
  { prefixes: ['inf'], onDemand: { code: 'L-1945791B', name: 'Running On-Demand Inf instances' }, spot: { code: 'L-B5D1601B', name: 'All Inf Spot Instance Requests' } },
  { prefixes: ['trn'], onDemand: { code: 'L-2C3B7624', name: 'Running On-Demand Trn instances' }, spot: { code: 'L-6B0D517C', name: 'All Trn Spot Instance Requests' } },
  { prefixes: ['hpc'], onDemand: { code: 'L-F7808C92', name: 'Running On-Demand HPC instances' } },
  { prefixes: ['dl'], onDemand: { code: 'L-6E869C2A', name: 'Running On-Demand DL instances' }, spot: { code: 'L-85EED4F7', name: 'All DL Spot Instance Requests' } },
  { prefixes: ['u-', 'u7', 'u6'], onDemand: { code: 'L-43DA4232', name: 'Running On-Demand High Memory instances' } },
  { prefixes: ['vt', 'g'], onDemand: { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances' }, spot: { code: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests' } },
  { prefixes: ['p'], onDemand: { code: 'L-417A185B', name: 'Running On-Demand P instances' }, spot: { code: 'L-7212CCBC', name: 'All P Spot Instance Requests' } },
  { prefixes: ['x'], onDemand: { code: 'L-7295265B', name: 'Running On-Demand X instances' }, spot: { code: 'L-E3A00192', name: 'All X Spot Instance Requests' } },
  { prefixes: ['f'], onDemand: { code: 'L-74FC7D96', name: 'Running On-Demand F instances' }, spot: { code: 'L-88CF9481', name: 'All F Spot Instance Requests' } },
  {
    prefixes: ['a', 'c', 'd', 'h', 'i', 'm', 'r', 't', 'z'],
    onDemand: { code: 'L-1216C47A', name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' },
    spot: { code: 'L-34B43A08', name: 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests' },
  },
];

/**
 * The vCPU quota `instanceType` counts against, or undefined when none is
 * known (mac instances run on dedicated hosts and have host quotas instead).
 *
 * @param spot true for a Spot instance
 */
export function vcpuQuotaOf(instanceType: string, spot: boolean): VcpuQuota | undefined {
  const family = instanceType.split('.')[0].toLowerCase();
  if (family.startsWith('mac')) return undefined;
  const bucket = BUCKETS.find((b) => b.prefixes.some((p) => family.startsWith(p)));
  return spot ? bucket?.spot : bucket?.onDemand;
}
