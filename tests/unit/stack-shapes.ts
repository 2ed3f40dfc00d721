/**
 * Every shape of app the config can produce, for the checks that must hold
 * over all of them (AWS's resource specification, IAM's catalogue and policy
 * evaluation, cfn-lint, update rules). A new kind of stack or machine belongs
 * here, so that every such check covers it.
 */
import { addDasklabStacks } from '../../lib/app';
import { DasklabConfigInput } from '../../lib/config/schema';
import { configOf, testApp } from './support';
import { PRIVATE_NETWORK, PUBLIC_NETWORK, ROUTED_NETWORK } from './network-fixtures';

export const TRAINER_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ5d0fYV2u6lHk1m5gY5zZ2d0bXfWq1mDkq0mCk7N3a trainer@laptop';

/** A course's materials: a notebook, its data and a requirements.txt (tests/fixtures/materials). */
export const MATERIALS_FIXTURE = 'tests/fixtures/materials';

/** A pip lock file with hashes of numpy, dask[complete], JupyterLab and the course's requests (tests/fixtures/python-lock). */
export const LOCK_FILE_FIXTURE = 'tests/fixtures/python-lock/requirements.lock';

/** `count` roster ids, `s001`, `s002`, ... */
export function rosterOf(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `s${String(i + 1).padStart(3, '0')}`);
}

/** The shapes, by a name that says what each adds. */
export const STACK_SHAPES: ReadonlyArray<readonly [string, DasklabConfigInput]> = [
  ['default machine', {}],
  ['machine with SSH and the dashboard open to a network, own key', { access: { sshCidrs: ['203.0.113.0/24'], dashboardCidrs: ['198.51.100.0/24'], publicKey: TRAINER_KEY } }],
  ['machine on Graviton with a larger disk and a package index', { machine: { instanceType: 'm7g.large', diskGiB: 100 }, python: { indexUrl: 'https://pypi.example.org/simple/' } }],
  ['cluster with TLS and JupyterLab', { cluster: { workers: 2, jupyter: true } }],
  [
    'cluster with SSH open to the world (acknowledged) and the dashboard to IPv6 networks',
    { access: { sshCidrs: ['0.0.0.0/0', '::/0'], dashboardCidrs: ['2001:db8::/32', '198.51.100.7/32'], allowWorldOpen: ['sshCidrs'] }, cluster: { workers: 1 } },
  ],
  ['cluster without TLS', { cluster: { workers: 2, tls: false } }],
  ['spot cluster on Graviton', { cluster: { workers: 2, spot: true, schedulerInstanceType: 't4g.medium', workerInstanceType: 'm7g.large' } }],
  ['lab of student machines with idle stop, a trainer key and JupyterLab', { lab: { roster: ['alice', 'bob', 'carol'], idleStopMinutes: 30, trainerPublicKey: TRAINER_KEY, jupyter: true } }],
  ['lab with course materials, per-student clusters and JupyterLab', { lab: { roster: ['alice', 'bob'], workersPerStudent: 1, jupyter: true, materials: MATERIALS_FIXTURE } }],
  ['lab with per-student clusters, JupyterLab and a schedule', { lab: { roster: ['alice', 'bob'], workersPerStudent: 1, jupyter: true, schedule: { stop: '18:00', start: '08:00', timezone: 'Europe/Berlin' } } }],
  [
    'lab on Graviton without idle stop, stopped on some weekdays only',
    { lab: { roster: ['alice', 'bob'], idleStopMinutes: 0, instanceType: 't4g.medium', schedule: { stop: '18:00', timezone: 'UTC', days: ['MON', 'WED', 'FRI'] } } },
  ],
  ['lab of 500', { lab: { roster: rosterOf(500) } }],
  ['machine in private subnets of an existing VPC, no public IP', { network: PRIVATE_NETWORK }],
  [
    'spot cluster in private subnets of an existing VPC with a fixed scheduler address, a proxy and VPC endpoints made for it',
    { cluster: { workers: 2, spot: true }, network: { ...ROUTED_NETWORK, schedulerAddress: '10.20.2.50', proxy: 'http://proxy.corp.example:3128', endpoints: 'create' } },
  ],
  ['lab with per-student clusters in public subnets of an existing VPC', { lab: { roster: ['alice', 'bob'], workersPerStudent: 1 }, network: PUBLIC_NETWORK }],
  ['baked machine on Graviton', { machine: { bake: true, instanceType: 'm7g.large' } }],
  ['baked spot cluster with TLS, JupyterLab and workers of both architectures', { machine: { bake: true }, cluster: { workers: 2, spot: true, jupyter: true, workerInstanceType: 'm7g.large' } }],
  [
    'baked lab with per-student clusters, JupyterLab, course materials and a lock file',
    { machine: { bake: true }, python: { lockFile: LOCK_FILE_FIXTURE }, lab: { roster: ['alice', 'bob'], workersPerStudent: 1, jupyter: true, materials: MATERIALS_FIXTURE } },
  ],
  ['cluster with TLS installing from a lock file', { python: { lockFile: LOCK_FILE_FIXTURE }, cluster: { workers: 1 } }],
  [
    'baked machine in an existing VPC with a public and a private subnet, installing from CodeArtifact through VPC endpoints made for it',
    { machine: { bake: true }, network: { ...ROUTED_NETWORK, subnets: [{ ...ROUTED_NETWORK.subnets[0], public: true }, ROUTED_NETWORK.subnets[1]], endpoints: 'create' }, python: { codeArtifact: { domain: 'acme', repository: 'pypi-store' } } },
  ],
  ['machine installing from a CodeArtifact repository of another account', { python: { codeArtifact: { domain: 'acme', repository: 'pypi-store', domainOwner: '444455556666', region: 'eu-central-1' } } }],
];

/** One synthesized stack: its name and CloudFormation template. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: any;
}

const synthesized = new Map<DasklabConfigInput, SynthesizedStack[]>();

/**
 * The templates of every stack of an app, as `cdk synth` writes them (cdk-nag
 * included, Lambda bundling skipped). Memoised per config object, since several
 * checks walk the same shapes.
 */
export function synthesizeShape(input: DasklabConfigInput): SynthesizedStack[] {
  let stacks = synthesized.get(input);
  if (!stacks) {
    const app = testApp();
    addDasklabStacks(app, configOf(input));
    stacks = app.synth().stacks.map((s) => ({ stackName: s.stackName, template: s.template }));
    synthesized.set(input, stacks);
  }
  return stacks;
}
