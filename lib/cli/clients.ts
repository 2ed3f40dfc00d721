/**
 * The one place AWS SDK clients are made. Every command takes its clients from
 * here, so one environment variable points them all at another endpoint (the
 * tests' moto server).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';

/** Environment variable: an endpoint URL used for every AWS service instead of AWS's own. */
export const ENDPOINT_ENV = 'DASKLAB_AWS_ENDPOINT';

/** The clients of one CLI run, all for the same region. */
export interface AwsClients {
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  readonly quotas: ServiceQuotasClient;
  /** The region the clients use (from --region, AWS_REGION or the profile). */
  region(): Promise<string>;
  /** Closes the clients' connections. */
  destroy(): void;
}

/** How to make the clients. */
export interface ClientOptions {
  /**
   * The region.
   * @default - the SDK's default chain: AWS_REGION, then the profile's region
   */
  readonly region?: string;
  /**
   * Where to read {@link ENDPOINT_ENV} from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
}

/** Makes the EC2, SSM and Service Quotas clients. Credentials come from the SDK's default chain. */
export function createClients(options: ClientOptions = {}): AwsClients {
  const endpoint = (options.env ?? process.env)[ENDPOINT_ENV] || undefined;
  const config = { region: options.region, ...(endpoint ? { endpoint } : {}) };
  const ec2 = new EC2Client(config);
  const ssm = new SSMClient(config);
  const quotas = new ServiceQuotasClient(config);
  return {
    ec2,
    ssm,
    quotas,
    region: () => ec2.config.region(),
    destroy: () => {
      ec2.destroy();
      ssm.destroy();
      quotas.destroy();
    },
  };
}
