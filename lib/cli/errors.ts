/**
 * Expected failures and how they are shown: one clear line (no stack trace)
 * and an exit code. Anything not recognised here is a bug and keeps its stack.
 */
import { ConfigError } from '../config';

/** Exit code for failures the user fixes in their AWS setup (credentials, region). */
export const EXIT_AWS_SETUP = 2;

/** A failure the CLI expected: its message is shown as is, without a stack trace. */
export class CliError extends Error {
  /**
   * @param message what went wrong and how to fix it
   * @param exitCode the process exit code
   * @default exitCode 1
   */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Error names (SDK exception names and error codes) that mean the caller has no
 * usable credentials: none found, expired, or not known to AWS.
 */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'AuthFailure',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

/** Error names that mean the credentials work but lack a permission. */
const PERMISSION_ERRORS = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

/** Node's error codes for an endpoint that cannot be reached. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH']);

/** The fix we suggest for every credentials problem. */
export const CREDENTIALS_FIX =
  'run `aws sso login` or `aws configure`, or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then try again';

/**
 * The CliError an error stands for, or undefined if it is unexpected.
 *
 * @param error anything a command threw
 */
export function expectedErrorOf(error: unknown): CliError | undefined {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError(error.message, 1);
  if (!(error instanceof Error)) return undefined;
  const name = error.name;
  const code = (error as { code?: string }).code ?? '';
  const message = firstLine(error.message);
  if (CREDENTIAL_ERRORS.has(name) || CREDENTIAL_ERRORS.has(code)) {
    return new CliError(`AWS credentials are missing, expired or not valid (${name}: ${message}). To fix: ${CREDENTIALS_FIX}.`, EXIT_AWS_SETUP);
  }
  if (/^Region is missing/i.test(error.message)) {
    return new CliError('No AWS region: pass --region (e.g. --region eu-west-1), set AWS_REGION, or set a region in your AWS profile.', EXIT_AWS_SETUP);
  }
  if (/^Region not accepted/i.test(error.message)) {
    return new CliError(`Not a valid AWS region (${message}): pass --region with a region code such as eu-west-1.`, EXIT_AWS_SETUP);
  }
  if (PERMISSION_ERRORS.has(name) || PERMISSION_ERRORS.has(code)) {
    return new CliError(`Not allowed by AWS (${name}): ${message}. Use an identity with the EC2, SSM and Service Quotas permissions the README lists.`, 1);
  }
  if (NETWORK_ERRORS.has(code)) {
    return new CliError(`Cannot reach AWS (${code}): ${message}. Check the network, the region, and DASKLAB_AWS_ENDPOINT if you set it.`, 1);
  }
  return undefined;
}

/** The first line of a message, so one error stays one line. */
function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}
