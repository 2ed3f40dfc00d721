/**
 * EC2 instance families dasklab accepts, with their CPU architecture and sizes.
 *
 * Why a hand-kept table: synth must work offline and without AWS credentials, so
 * we cannot ask EC2 (`DescribeInstanceTypes`) what exists. The table lets
 * `cdk synth` reject "t3.metal" or "m7g.nano" at once, and tells the machine
 * construct which Ubuntu AMI (amd64 or arm64) to use.
 *
 * Scope: general purpose, compute, memory, storage and accelerated families a
 * person would plausibly run Python/Dask on, current and previous generation.
 * Left out on purpose: mac* (macOS only), u-* (high-memory, dedicated hosts
 * only), f1/f2/vt1/dl1 and other special-purpose hardware. Size lists come from
 * the EC2 instance-type documentation; adding a family is one line.
 */

/** CPU architecture of an instance type, spelled as EC2 spells it. */
export type Architecture = 'x86_64' | 'arm64';

/** One row of the table: what a family runs and which sizes it comes in. */
export interface InstanceFamily {
  /** CPU architecture of every size of the family. */
  readonly architecture: Architecture;
  /** Valid sizes, smallest first; `metal*` last. */
  readonly sizes: readonly string[];
}

/** The result of {@link parseInstanceType}. */
export interface ParsedInstanceType {
  /** The family, e.g. `m7i-flex`. */
  readonly family: string;
  /** The size, e.g. `2xlarge`. */
  readonly size: string;
  /** CPU architecture of the family. */
  readonly architecture: Architecture;
}

// Size lists shared by many families. Named after the hardware generation that
// introduced them, because sizes follow the hardware (e.g. Graviton starts at
// `medium`, Intel 6th gen stops at 32xlarge, AMD 6th gen goes to 48xlarge).
const BURSTABLE = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'];
const A1 = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', 'metal'];
const GEN4_M = ['large', 'xlarge', '2xlarge', '4xlarge', '10xlarge', '16xlarge'];
const GEN4_C = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'];
const GEN4_R = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'];
const INTEL5 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', 'metal'];
const AMD5 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];
const C5 = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge', 'metal'];
const C5N = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge', 'metal'];
const Z1D_M5ZN = ['large', 'xlarge', '2xlarge', '3xlarge', '6xlarge', '12xlarge', 'metal'];
const INTEL6 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'];
const AMD6 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', 'metal'];
const GRAVITON2_3 = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', 'metal'];
const C6GN = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const INTEL7 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];
const FLEX = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const AMD7 = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', 'metal-48xl'];
const R7IZ = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '32xlarge', 'metal-16xl', 'metal-32xl'];
const INTEL8 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge', '48xlarge', '96xlarge', 'metal-48xl', 'metal-96xl'];
const GRAVITON4 = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];
const I3 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', 'metal'];
const I3EN = ['large', 'xlarge', '2xlarge', '3xlarge', '6xlarge', '12xlarge', '24xlarge', 'metal'];
const I4G_IM4GN = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'];
const IS4GEN = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'];
const I7IE = ['large', 'xlarge', '2xlarge', '3xlarge', '6xlarge', '12xlarge', '18xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];
const I8G = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', 'metal-24xl'];
const X2IEDN = ['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'];
const GPU_G5_G6 = ['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge'];

const x86 = (sizes: readonly string[]): InstanceFamily => ({ architecture: 'x86_64', sizes });
const arm = (sizes: readonly string[]): InstanceFamily => ({ architecture: 'arm64', sizes });

/**
 * Every instance family dasklab accepts, keyed by family name.
 * Frozen so no caller can widen what the config validator accepts at runtime.
 */
export const INSTANCE_FAMILIES: Readonly<Record<string, InstanceFamily>> = Object.freeze({
  // Burstable general purpose
  't2': x86(BURSTABLE),
  't3': x86(BURSTABLE),
  't3a': x86(BURSTABLE),
  't4g': arm(BURSTABLE),
  // General purpose
  'a1': arm(A1),
  'm4': x86(GEN4_M),
  'm5': x86(INTEL5),
  'm5d': x86(INTEL5),
  'm5n': x86(INTEL5),
  'm5dn': x86(INTEL5),
  'm5a': x86(AMD5),
  'm5ad': x86(AMD5),
  'm5zn': x86(Z1D_M5ZN),
  'm6i': x86(INTEL6),
  'm6id': x86(INTEL6),
  'm6in': x86(INTEL6),
  'm6idn': x86(INTEL6),
  'm6a': x86(AMD6),
  'm6g': arm(GRAVITON2_3),
  'm6gd': arm(GRAVITON2_3),
  'm7i': x86(INTEL7),
  'm7i-flex': x86(FLEX),
  'm7a': x86(AMD7),
  'm7g': arm(GRAVITON2_3),
  'm7gd': arm(GRAVITON2_3),
  'm8i': x86(INTEL8),
  'm8g': arm(GRAVITON4),
  'm8gd': arm(GRAVITON4),
  // Compute optimized
  'c4': x86(GEN4_C),
  'c5': x86(C5),
  'c5d': x86(C5),
  'c5a': x86(AMD5),
  'c5ad': x86(AMD5),
  'c5n': x86(C5N),
  'c6i': x86(INTEL6),
  'c6id': x86(INTEL6),
  'c6in': x86(INTEL6),
  'c6a': x86(AMD6),
  'c6g': arm(GRAVITON2_3),
  'c6gd': arm(GRAVITON2_3),
  'c6gn': arm(C6GN),
  'c7i': x86(INTEL7),
  'c7i-flex': x86(FLEX),
  'c7a': x86(AMD7),
  'c7g': arm(GRAVITON2_3),
  'c7gd': arm(GRAVITON2_3),
  'c7gn': arm(GRAVITON2_3),
  'c8i': x86(INTEL8),
  'c8g': arm(GRAVITON4),
  'c8gd': arm(GRAVITON4),
  // Memory optimized
  'r4': x86(GEN4_R),
  'r5': x86(INTEL5),
  'r5d': x86(INTEL5),
  'r5n': x86(INTEL5),
  'r5dn': x86(INTEL5),
  'r5b': x86(INTEL5),
  'r5a': x86(AMD5),
  'r5ad': x86(AMD5),
  'r6i': x86(INTEL6),
  'r6id': x86(INTEL6),
  'r6in': x86(INTEL6),
  'r6idn': x86(INTEL6),
  'r6a': x86(AMD6),
  'r6g': arm(GRAVITON2_3),
  'r6gd': arm(GRAVITON2_3),
  'r7i': x86(INTEL7),
  'r7iz': x86(R7IZ),
  'r7a': x86(AMD7),
  'r7g': arm(GRAVITON2_3),
  'r7gd': arm(GRAVITON2_3),
  'r8i': x86(INTEL8),
  'r8g': arm(GRAVITON4),
  'r8gd': arm(GRAVITON4),
  'x1': x86(['16xlarge', '32xlarge']),
  'x1e': x86(['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '32xlarge']),
  'x2gd': arm(GRAVITON2_3),
  'x2idn': x86(['16xlarge', '24xlarge', '32xlarge', 'metal']),
  'x2iedn': x86(X2IEDN),
  'x8g': arm(GRAVITON4),
  'z1d': x86(Z1D_M5ZN),
  // Storage optimized
  'i3': x86(I3),
  'i3en': x86(I3EN),
  'i4i': x86(INTEL6),
  'i4g': arm(I4G_IM4GN),
  'im4gn': arm(I4G_IM4GN),
  'is4gen': arm(IS4GEN),
  'i7ie': x86(I7IE),
  'i8g': arm(I8G),
  'd3': x86(['xlarge', '2xlarge', '4xlarge', '8xlarge']),
  'd3en': x86(['xlarge', '2xlarge', '4xlarge', '6xlarge', '8xlarge', '12xlarge']),
  // Accelerated computing
  'g4dn': x86(['xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', 'metal']),
  'g4ad': x86(['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge']),
  'g5': x86(GPU_G5_G6),
  'g5g': arm(['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', 'metal']),
  'g6': x86(GPU_G5_G6),
  'g6e': x86(GPU_G5_G6),
  'gr6': x86(['4xlarge', '8xlarge']),
  'p3': x86(['2xlarge', '8xlarge', '16xlarge']),
  'p3dn': x86(['24xlarge']),
  'p4d': x86(['24xlarge']),
  'p4de': x86(['24xlarge']),
  'p5': x86(['4xlarge', '48xlarge']),
  'p5e': x86(['48xlarge']),
  'p5en': x86(['48xlarge']),
  'inf1': x86(['xlarge', '2xlarge', '6xlarge', '24xlarge']),
  'inf2': x86(['xlarge', '8xlarge', '24xlarge', '48xlarge']),
  'trn1': x86(['2xlarge', '32xlarge']),
  'trn1n': x86(['32xlarge']),
  'trn2': x86(['48xlarge']),
  // High performance computing
  'hpc6a': x86(['48xlarge']),
  'hpc6id': x86(['32xlarge']),
  'hpc7a': x86(['12xlarge', '24xlarge', '48xlarge', '96xlarge']),
  'hpc7g': arm(['4xlarge', '8xlarge', '16xlarge']),
});

/**
 * Why `s` is not an instance type dasklab accepts, or `null` if it is one.
 *
 * The reason is phrased as what is accepted ("expected ..."), so the config
 * validator can append it to "<field>: <value> is not accepted; ".
 */
export function instanceTypeProblem(s: string): string | null {
  const match = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(s);
  if (match === null) {
    return 'expected an EC2 instance type written <family>.<size> in lower case, e.g. "t3.medium" or "m7g.xlarge"';
  }
  const [, family, size] = match;
  const row = Object.prototype.hasOwnProperty.call(INSTANCE_FAMILIES, family) ? INSTANCE_FAMILIES[family] : undefined;
  if (row === undefined) {
    return `expected a known instance family; "${family}" is not one. ${familyHint(family)}`;
  }
  if (!row.sizes.includes(size)) {
    return `expected a size that ${family} comes in: ${row.sizes.join(', ')}`;
  }
  return null;
}

/**
 * Splits an instance type into family and size and looks up its architecture.
 *
 * @throws Error naming the value and what is accepted, if the family is unknown,
 *   the size does not exist for the family, or `s` is not `<family>.<size>`.
 */
export function parseInstanceType(s: string): ParsedInstanceType {
  const problem = instanceTypeProblem(s);
  if (problem !== null) {
    throw new Error(`${JSON.stringify(s)} is not an instance type dasklab accepts; ${problem}`);
  }
  const [family, size] = s.split('.');
  return { family, size, architecture: INSTANCE_FAMILIES[family].architecture };
}

/**
 * CPU architecture of an instance type: which Ubuntu AMI (amd64/arm64) it needs.
 *
 * @throws Error as {@link parseInstanceType} does.
 */
export function architectureOf(instanceType: string): Architecture {
  return parseInstanceType(instanceType).architecture;
}

/**
 * A short list of families to suggest for an unknown one: those of the same
 * class letter (the list of all ~100 families would bury the useful part).
 */
function familyHint(family: string): string {
  const all = Object.keys(INSTANCE_FAMILIES);
  const sameClass = all.filter((f) => f[0] === family[0]);
  if (sameClass.length > 0) {
    return `Known "${family[0]}" families: ${sameClass.join(', ')}`;
  }
  return `Known families: ${all.join(', ')}`;
}
