/**
 * The one simulated AWS account and region, and ARNs in it, as LocalStack and moto do:
 * account 000000000000, region us-east-1
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
 */

/** The account id in every ARN and queue URL berth hands out. */
export const ACCOUNT_ID = '000000000000';
/** The only region berth simulates. */
export const REGION = 'us-east-1';

/** `arn:aws:<service>:us-east-1:000000000000:<resource>`. */
export function arn(service: string, resource: string): string {
  return `arn:aws:${service}:${REGION}:${ACCOUNT_ID}:${resource}`;
}

export interface ParsedArn {
  service: string;
  region: string;
  account: string;
  /** Everything after the account: `queue-name`, `function:name`, `topic:subscription-id`. */
  resource: string;
}

/** Splits an ARN; undefined when it is not one. */
export function parseArn(s: string | undefined): ParsedArn | undefined {
  if (typeof s !== 'string') return undefined;
  const p = s.split(':');
  if (p.length < 6 || p[0] !== 'arn') return undefined;
  return { service: p[2]!, region: p[3]!, account: p[4]!, resource: p.slice(5).join(':') };
}

/** The queue name of an SQS queue ARN, or undefined. */
export function queueNameFromArn(s: string | undefined): string | undefined {
  const a = parseArn(s);
  return a?.service === 'sqs' && a.resource && !a.resource.includes(':') ? a.resource : undefined;
}

/** The topic name of an SNS topic ARN, or undefined. */
export function topicNameFromArn(s: string | undefined): string | undefined {
  const a = parseArn(s);
  return a?.service === 'sns' && a.resource && !a.resource.includes(':') ? a.resource : undefined;
}

/**
 * The function name in a Lambda function ARN (`arn:aws:lambda:…:function:NAME[:QUALIFIER]`),
 * a partial ARN (`000000000000:function:NAME`) or a plain name, as Lambda accepts all three.
 */
export function functionNameFrom(s: string): string {
  const m = /^(?:arn:aws:lambda:[^:]*:[^:]*:)?(?:\d{12}:)?function:([^:]+)(?::.*)?$/.exec(s);
  if (m) return m[1]!;
  const q = s.indexOf(':');
  return q >= 0 ? s.slice(0, q) : s;
}

/** A random UUID v4 (message ids, request ids). */
export function uuid(): string {
  return crypto.randomUUID();
}
