/**
 * What every command works with: the global options (--app, --region, --json,
 * --config), the config (loaded only when needed), the AWS clients and the
 * app's machines.
 */
import * as fs from 'fs';
import { DasklabConfig, formatValue, loadConfig, NAME_PATTERN, NAME_RULE, resolveConfigPath } from '../config';
import { AwsClients, createClients } from './clients';
import { CliError } from './errors';
import { CliIo, writeLine } from './io';
import { Machine, requireMachines } from './machines';
import { AppScope } from './select';

/** The options every command takes. */
export interface GlobalOptions {
  /** The app (the `dasklab:app` tag); default: the config's `name`. */
  readonly app?: string;
  /** The AWS region; default: the SDK's (AWS_REGION, then the profile). */
  readonly region?: string;
  /** Print JSON instead of text. */
  readonly json?: boolean;
  /** The config file; default: dasklab.config.json. */
  readonly config?: string;
}

/** One command's view of its options, config and AWS. */
export class CommandContext {
  private loadedConfig?: DasklabConfig;
  private awsClients?: AwsClients;
  private resolvedRegion?: string;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
  ) {}

  /** True with --json. */
  get json(): boolean {
    return this.options.json === true;
  }

  /** The config file in use (absolute). */
  configFile(): string {
    return resolveConfigPath(this.options.config, this.io.cwd);
  }

  /**
   * The config.
   * @throws ConfigError when it is missing or invalid
   */
  config(): DasklabConfig {
    this.loadedConfig ??= loadConfig(this.configFile());
    return this.loadedConfig;
  }

  /**
   * The config when it can be had. With --app and no --config, a missing or
   * invalid default config is no error: the command only uses it for details
   * (Python version, venv path).
   */
  optionalConfig(): DasklabConfig | undefined {
    if (this.options.app === undefined || this.options.config !== undefined) return this.config();
    if (!fs.existsSync(this.configFile())) return undefined;
    try {
      return this.config();
    } catch {
      return undefined;
    }
  }

  /** The app name: --app, else the config's name. */
  app(): string {
    const app = this.options.app;
    if (app === undefined) return this.config().name;
    // It reaches tag filters and every message: only a name the config could have.
    if (!NAME_PATTERN.test(app)) throw new CliError(`--app: ${formatValue(app)} is not accepted; ${NAME_RULE}, as the config's name`);
    return app;
  }

  /** The AWS clients (made once). */
  clients(): AwsClients {
    this.awsClients ??= createClients({ region: this.options.region, env: this.io.env });
    return this.awsClients;
  }

  /** The region the clients use. */
  async region(): Promise<string> {
    this.resolvedRegion ??= this.options.region ?? (await this.clients().region());
    return this.resolvedRegion;
  }

  /** The app and region, for messages. */
  async scope(): Promise<AppScope> {
    return { app: this.app(), region: await this.region() };
  }

  /**
   * The app's machines.
   * @throws CliError when the app has none in the region
   */
  async machines(): Promise<Machine[]> {
    const { app, region } = await this.scope();
    return requireMachines(this.clients().ec2, app, region);
  }

  /** Prints a line of results (stdout). */
  print(line = ''): void {
    writeLine(this.io.stdout, line);
  }

  /** Prints a value as JSON (stdout). */
  printJson(value: unknown): void {
    writeLine(this.io.stdout, JSON.stringify(value, null, 2));
  }

  /** Prints progress or a warning (stderr), so stdout stays the result alone. */
  note(line: string): void {
    writeLine(this.io.stderr, line);
  }

  /** Closes the AWS clients. */
  close(): void {
    this.awsClients?.destroy();
  }
}
