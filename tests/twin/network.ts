import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { onCleanup } from './cleanup';
import { mustRun } from './proc';

/**
 * The twin's network, entirely inside network namespaces it creates itself:
 *
 *   netns <prefix>hub: bridge br0 with 10.213.0.1/24 (services) and
 *                      169.254.169.254/32 (IMDS); one veth port per machine
 *   netns <prefix>m<k>: the veth's other end, named host0 (nspawn's name for a
 *                      container's interface); the machine configures it itself
 *                      from its NoCloud network-config
 *
 * The hub has no uplink and no forwarding, no namespace has a default route, so
 * nothing can leave. The host's own interfaces and routes are never touched.
 */

export const SUBNET_PREFIX = '10.213.0';
export const HUB_IP = `${SUBNET_PREFIX}.1`;
export const IMDS_IP = '169.254.169.254';
export const PORTS = { apt: 8080, signal: 8081, pip: 8082, ec2: 8083, imds: 80 } as const;

/** The line baked into the rootfs's apt sources. */
export const APT_SOURCE_LINE = `deb [trusted=yes] http://${HUB_IP}:${PORTS.apt}/ ./`;
export const PIP_INDEX_URL = `http://${HUB_IP}:${PORTS.pip}/simple/`;
export const AWS_ENDPOINT_URL = `http://${HUB_IP}:${PORTS.ec2}`;
export const signalUrl = (handle: string): string => `http://${HUB_IP}:${PORTS.signal}/signal/${handle}`;
/** Machines get .11, .12, ... */
export const machineIp = (index: number): string => `${SUBNET_PREFIX}.${11 + index}`;

/** Namespace names carry the owning process's PID, so leftovers of a killed run can be recognised. */
const NS_PREFIX = 'dasklab-twin-';

export class TwinNetwork {
  readonly hub: string;
  private readonly machines: string[] = [];
  private readonly unregister: () => void;

  private constructor(readonly id: string) {
    this.hub = `${NS_PREFIX}${id}-hub`;
    this.unregister = onCleanup(`delete netns of twin ${id}`, () => this.removeSync());
  }

  /** Creates the hub namespace with its bridge and addresses. */
  static async create(): Promise<TwinNetwork> {
    removeStaleNamespaces();
    const net = new TwinNetwork(`${process.pid}-${Math.random().toString(16).slice(2, 6)}`);
    const ipHub = (...args: string[]) => mustRun('ip', ['-n', net.hub, ...args]);
    await mustRun('ip', ['netns', 'add', net.hub]);
    await ipHub('link', 'set', 'lo', 'up');
    await ipHub('link', 'add', 'br0', 'type', 'bridge');
    await ipHub('addr', 'add', `${HUB_IP}/24`, 'dev', 'br0');
    await ipHub('addr', 'add', `${IMDS_IP}/32`, 'dev', 'br0');
    await ipHub('link', 'set', 'br0', 'up');
    return net;
  }

  /** Creates machine k's namespace with host0 plugged into the hub's bridge; returns its /run/netns path. */
  async addMachine(index: number): Promise<string> {
    const ns = `${NS_PREFIX}${this.id}-m${index}`;
    await mustRun('ip', ['netns', 'add', ns]);
    this.machines.push(ns);
    const port = `vm${index}`;
    await mustRun('ip', ['-n', this.hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'host0', 'netns', ns]);
    await mustRun('ip', ['-n', this.hub, 'link', 'set', port, 'master', 'br0', 'up']);
    return `/run/netns/${ns}`;
  }

  /**
   * Installs an nftables script (security-groups.ts) in a machine's namespace,
   * before the machine boots. Needs the host's `nft` (Debian: nftables).
   */
  async applyFirewall(netnsPath: string, script: string): Promise<void> {
    await mustRun('nsenter', [`--net=${netnsPath}`, '--', 'nft', '-f', '-'], { input: script }).catch((err: Error) => {
      const missing = /ENOENT|No such file|not found/.test(err.message);
      throw new Error(missing ? `the twin enforces security groups with nftables: install it (apt-get install nftables)\n${err.message}` : err.message);
    });
  }

  /** Deletes every namespace of this twin (their veths go with them). */
  remove(): void {
    this.unregister();
  }

  private removeSync(): void {
    for (const ns of [...this.machines, this.hub]) {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    this.machines.length = 0;
  }
}

/** Deletes twin namespaces left by a run that was killed outright (its PID is gone). */
function removeStaleNamespaces(): void {
  if (!fs.existsSync('/run/netns')) return;
  for (const ns of fs.readdirSync('/run/netns')) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(ns);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }
}
