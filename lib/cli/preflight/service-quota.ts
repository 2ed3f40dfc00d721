/** Reading one quota's value from Service Quotas. */
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { EXIT_AWS_SETUP, expectedErrorOf } from '../errors';

/** A quota's value, or why it could not be read. */
export type QuotaValue = { readonly value: number } | { readonly error: string };

/**
 * The quota in force: the account's applied value, or AWS's default when the
 * account has none (GetServiceQuota answers NoSuchResource for quotas never
 * changed in some accounts and regions).
 *
 * @throws only for credential problems, which fail the whole command
 */
export async function quotaValue(quotas: ServiceQuotasClient, serviceCode: string, quotaCode: string): Promise<QuotaValue> {
  try {
    try {
      const { Quota } = await quotas.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }));
      if (Quota?.Value !== undefined) return { value: Quota.Value };
    } catch (error) {
      if (!(error instanceof NoSuchResourceException || (error as Error).name === 'NoSuchResourceException')) throw error;
    }
    const { Quota } = await quotas.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }));
    if (Quota?.Value !== undefined) return { value: Quota.Value };
    return { error: 'Service Quotas returned no value' };
  } catch (error) {
    if (expectedErrorOf(error)?.exitCode === EXIT_AWS_SETUP) throw error;
    const err = error as Error;
    return { error: `${err.name}: ${err.message.split('\n')[0]}` };
  }
}
