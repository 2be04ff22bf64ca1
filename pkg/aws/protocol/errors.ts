/**
 * AWS API errors, one class for every service: a stable `code` (the AWS error code clients
 * match on, `QueueDoesNotExist`, `ResourceNotFoundException`…), the HTTP status AWS answers
 * with, and for SQS's JSON protocol the older query-protocol code (`x-amzn-query-error`) that
 * botocore reports to users (`AWS.SimpleQueueService.NonExistentQueue`).
 */

/** Thrown by a service handler for anything AWS would answer with an error. */
export class AwsError extends Error {
  constructor(
    /** The AWS error code (`__type` in JSON protocols, `Code` in query/XML). */
    readonly code: string,
    message: string,
    /** HTTP status (400 unless AWS uses another for this code). */
    readonly status = 400,
    readonly opts: {
      /** SQS: the query-protocol code sent as `x-amzn-query-error: <code>;Sender`. */
      queryCode?: string;
      /** Server errors are `Receiver`, client errors `Sender` (default). */
      fault?: 'Sender' | 'Receiver';
      /** Extra members of the JSON error body (Lambda's `Reason`, `retryAfterSeconds`). */
      extra?: Record<string, unknown>;
    } = {},
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

/** A parameter that is missing or malformed (every query-protocol service's generic error). */
export function invalidParameter(message: string, code = 'InvalidParameterValue'): AwsError {
  return new AwsError(code, message, 400);
}

/** A required parameter is absent. */
export function missingParameter(name: string): AwsError {
  return new AwsError('MissingParameter', `The request must contain the parameter ${name}.`, 400);
}
