/**
 * What the handout files are made from: per machine, its connection and key;
 * and what is common to all of them.
 */
import { Connection } from './connection';
import { Machine } from './machines';
import { Reachability } from './network-access';
import { PrivateKey } from './private-keys';

/** One machine in the handouts. */
export interface HandoutEntry {
  readonly machine: Machine;
  readonly connection: Connection;
  readonly reach: Reachability;
  readonly key: PrivateKey;
  /** File name of the machine's private key in the handouts directory; set for a generated key only. */
  readonly keyFile?: string;
}

/** What every handout file shares. */
export interface HandoutContext {
  readonly app: string;
  readonly region: string;
  /** The final, absolute handouts directory (ssh_config names key files by absolute path). */
  readonly dir: string;
  /** When the handouts were made. */
  readonly generatedAt: Date;
  /** Python version of the machines ("3.12"), when the config is at hand. */
  readonly pythonVersion?: string;
  /** The ready venv's path, when the config is at hand. */
  readonly venv?: string;
  /** Whether students' machines (or a cluster's scheduler) run JupyterLab, when the config is at hand. */
  readonly jupyter?: boolean;
}

/** One file of the handouts. */
export interface HandoutFile {
  /** File name inside the handouts directory. */
  readonly name: string;
  readonly content: string;
  /** Unix permission bits: 0o600 for keys, 0o644 otherwise. */
  readonly mode: number;
}
