// What an AWS SDK error says, in a form fit for one line of output, and the one error
// every failed AWS call becomes (AwsCallError): which call, on what, AWS's code and
// message, and a hint when the code says what to do.

import { DeployError } from '../../errors.ts';

export interface AwsErrorInfo {
  /** Error code (InvalidVpcID.NotFound, Throttling, CredentialsProviderError, ECONNRESET, HTTP 500…). */
  code: string;
  message: string;
  status?: number;
  /** The endpoint answered, but not like AWS (an HTML error page of a proxy or load balancer). */
  notAws?: boolean;
}

/** Node's errno-style codes: the SDK reports a reset connection as TimeoutError with code ECONNRESET. */
const ERRNO = /^E[A-Z0-9_]+$/;

export function awsErrorInfo(error: unknown): AwsErrorInfo {
  if (error instanceof AwsCallError) return error.info;
  if (!(error instanceof Error)) return { code: 'Unknown', message: String(error) };
  const shaped = error as Error & { Code?: string; code?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = shaped.$metadata?.httpStatusCode ?? responseOf(error)?.statusCode;
  const withStatus = status !== undefined ? { status } : {};
  const notAws = nonAwsAnswer(error);
  if (notAws)
    return {
      code: status !== undefined ? `HTTP ${status}` : 'NotAnAwsResponse',
      message: notAws,
      notAws: true,
      ...withStatus,
    };
  const errno = typeof shaped.code === 'string' && ERRNO.test(shaped.code) ? shaped.code : undefined;
  const name = shaped.name && shaped.name !== 'Error' ? shaped.name : undefined;
  const code = shaped.Code ?? errno ?? name ?? (typeof shaped.code === 'string' ? shaped.code : undefined) ?? 'Error';
  return { code, message: error.message, ...withStatus };
}

interface RawResponse {
  statusCode?: number;
  headers?: Record<string, string | undefined>;
}

function responseOf(error: Error): RawResponse | undefined {
  return (error as { $response?: RawResponse }).$response;
}

/**
 * When the SDK could not read the answer as AWS's (it says "Deserialization error" and
 * keeps the raw response), a short description of what came instead; undefined for an
 * AWS error. The SDK's own message (an XML parser complaint about <html>) helps nobody.
 */
function nonAwsAnswer(error: Error): string | undefined {
  const response = responseOf(error);
  if (!response || !/Deserialization error/i.test(error.message)) return undefined;
  const body = String((error as { $responseBodyText?: unknown }).$responseBodyText ?? '');
  const type = response.headers?.['content-type'] ?? response.headers?.['Content-Type'] ?? '';
  const html = /html/i.test(type) || /^\s*(<!doctype html|<html)/i.test(body);
  const title = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(body)?.[1]?.trim();
  const what = html ? 'an HTML page' : type ? `a ${type.split(';')[0]} answer` : 'an answer';
  return `${what} instead of an AWS response${title ? ` ("${title}")` : ''}`;
}

export function isAwsErrorCode(error: unknown, ...codes: string[]): boolean {
  const info = awsErrorInfo(error);
  return codes.some((code) => info.code === code || info.code.startsWith(`${code}.`));
}

/** The SDK could not find any credentials (no env keys, profile, SSO session, role). */
export function isMissingCredentials(error: unknown): boolean {
  return awsErrorInfo(error).code === 'CredentialsProviderError';
}

const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'TimeoutError',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The endpoint could not be reached at all (DNS, refused, reset, timeout). */
export function isNetworkError(error: unknown): boolean {
  return NETWORK_CODES.has(awsErrorInfo(error).code);
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
]);

/** AWS asked to slow down: worth a longer pause before the next attempt. */
export function isThrottling(info: AwsErrorInfo): boolean {
  return THROTTLING_CODES.has(info.code) || info.status === 429;
}

/** Server-side and 5xx codes that say "try again", whatever the status. */
const TRANSIENT_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * Worth another attempt: throttling, a 5xx, a dropped or timed-out connection, or an
 * answer that was not AWS's (a proxy's error page). Not ENOTFOUND: a host name that does
 * not resolve (a mistyped region or endpoint) will not resolve on the next try either.
 */
export function isTransient(info: AwsErrorInfo): boolean {
  if (isThrottling(info) || info.notAws || TRANSIENT_CODES.has(info.code)) return true;
  if (info.status !== undefined && info.status >= 500) return true;
  return NETWORK_CODES.has(info.code) && info.code !== 'ENOTFOUND';
}

export function describeAwsError(error: unknown): string {
  const info = awsErrorInfo(error);
  return info.message && info.message !== info.code ? `${info.code}: ${firstLine(info.message)}` : info.code;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

/** One AWS API call: its IAM action name (ec2:DescribeImages) and what it was about. */
export interface AwsCallSpec {
  call: `${'sts' | 'ec2' | 'autoscaling' | 'elasticloadbalancing' | 'cloudwatch' | 'logs' | 's3'}:${string}`;
  /** The resource the call is about (an AMI id, a group name, a target group ARN), for messages. */
  resource: string;
  /** A line for the error when the caller knows what is left to do by hand (delete a snapshot later). */
  remedy?: string;
}

/** What to do about a failed call, when its code says so. */
export function awsErrorHint(spec: AwsCallSpec, info: AwsErrorInfo): string | undefined {
  const { code } = info;
  if (
    [
      'AccessDenied',
      'AccessDeniedException',
      'UnauthorizedOperation',
      'UnauthorizedAccess',
      'AuthorizationError',
    ].includes(code)
  ) {
    return `the credentials are not allowed ${spec.call}: iam/deploy-policy.json lists every permission bakery needs; attach it to the role or user that deploys`;
  }
  if (
    ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired'].includes(code) ||
    (code === 'CredentialsProviderError' && /expired/i.test(info.message))
  ) {
    return 'the AWS credentials have expired: refresh them (`aws sso login`, or new session keys) and run again';
  }
  if (code === 'CredentialsProviderError')
    return 'no AWS credentials found: run `aws sso login` and set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  if (
    [
      'InvalidClientTokenId',
      'SignatureDoesNotMatch',
      'UnrecognizedClientException',
      'InvalidAccessKeyId',
      'AuthFailure',
    ].includes(code)
  ) {
    return 'AWS rejected the credentials: check AWS_PROFILE or the access key pair';
  }
  if (info.notAws)
    return 'something other than AWS answered (a proxy, a captive portal, or an AWS_ENDPOINT_URL* pointing at another server): check the network and the endpoint settings';
  if (isThrottling(info))
    return 'AWS kept throttling the calls (other tools polling the same account share the limit): wait a minute and run again';
  if (NETWORK_CODES.has(code))
    return 'AWS could not be reached: check the network, a proxy, the region, or AWS_ENDPOINT_URL if you use one';
  if (info.status !== undefined && info.status >= 500)
    return 'AWS had an internal problem: run again in a little while (https://health.aws.amazon.com shows outages)';
  return undefined;
}

/** A call to the AWS API failed for good (after its retries, or at once when retrying cannot help). */
export class AwsCallError extends DeployError {
  readonly call: string;
  readonly resource: string;
  readonly info: AwsErrorInfo;
  readonly attempts: number;

  constructor(spec: AwsCallSpec, info: AwsErrorInfo, attempts: number, cause: unknown) {
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const said = info.message && info.message !== info.code ? `${info.code}: ${firstLine(info.message)}` : info.code;
    const hint = awsErrorHint(spec, info);
    // The SDK error stays as `cause` for debugging; its stack never reaches the output.
    super(
      `${spec.call} for ${spec.resource} failed${after}: ${said}`,
      [...(hint ? [hint] : []), ...(spec.remedy ? [spec.remedy] : [])],
      { cause },
    );
    this.call = spec.call;
    this.resource = spec.resource;
    this.info = info;
    this.attempts = attempts;
  }
}
