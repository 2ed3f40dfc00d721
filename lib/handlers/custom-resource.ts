/**
 * What a Lambda-backed CloudFormation custom resource needs: the request it
 * receives and the response it must PUT to the pre-signed `ResponseURL`.
 *
 * Written here rather than taken from aws-cdk-lib's Provider framework, which
 * would add two more functions (and roles) to every stack for what is one PUT.
 */
import * as http from 'http';
import * as https from 'https';

/** A CloudFormation custom resource request. Property values arrive as strings. */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  /** Absent on Create. */
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, any>;
  /** Present on Update. */
  readonly OldResourceProperties?: Record<string, any>;
}

/** What a handled request produced. */
export interface CustomResourceResult {
  readonly physicalResourceId: string;
  /** Values readable with Fn::GetAtt. */
  readonly data?: Record<string, string>;
}

/** The part of the Lambda context a handler uses. */
export interface HandlerContext {
  getRemainingTimeInMillis(): number;
}

/** CloudFormation shows at most this much of a failure reason. */
const REASON_LIMIT = 1000;

/**
 * Wraps the work of a custom resource into a Lambda handler that always
 * answers CloudFormation: SUCCESS with the result, or FAILED with the error's
 * message as the reason (a Lambda that never answers leaves the stack
 * waiting for an hour).
 */
export function customResourceHandler(
  work: (event: CustomResourceEvent, context: HandlerContext) => Promise<CustomResourceResult>,
): (event: CustomResourceEvent, context: HandlerContext) => Promise<void> {
  return async (event, context) => {
    let body: Record<string, unknown>;
    try {
      const result = await work(event, context);
      body = { Status: 'SUCCESS', PhysicalResourceId: result.physicalResourceId, Data: result.data ?? {} };
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      console.error(`${event.RequestType} ${event.LogicalResourceId} failed: ${reason}`);
      body = {
        Status: 'FAILED',
        Reason: reason.slice(0, REASON_LIMIT),
        // A failed Create has no resource yet; the rollback's Delete receives this id.
        PhysicalResourceId: event.PhysicalResourceId ?? `${event.LogicalResourceId}-not-created`,
      };
    }
    await putResponse(event.ResponseURL, {
      ...body,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    });
  };
}

/** PUTs the JSON response to the pre-signed URL (S3 wants no content type). */
function putResponse(url: string, response: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(response);
  const request = url.startsWith('https:') ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`response PUT answered ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
