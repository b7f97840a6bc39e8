// What an AWS SDK error says, in a form fit for one line of output.

export interface AwsErrorInfo {
  /** Error code (InvalidVpcID.NotFound, Throttling, CredentialsProviderError, ECONNREFUSED…). */
  code: string;
  message: string;
  status?: number;
}

export function awsErrorInfo(error: unknown): AwsErrorInfo {
  if (!(error instanceof Error)) return { code: 'Unknown', message: String(error) };
  const shaped = error as Error & { Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const code = shaped.Code ?? (shaped.name && shaped.name !== 'Error' ? shaped.name : undefined) ?? shaped.code ?? 'Error';
  const status = shaped.$metadata?.httpStatusCode;
  return { code, message: error.message, ...(status !== undefined ? { status } : {}) };
}

export function isAwsErrorCode(error: unknown, ...codes: string[]): boolean {
  const info = awsErrorInfo(error);
  return codes.some((code) => info.code === code || info.code.startsWith(`${code}.`));
}

/** The SDK could not find any credentials (no env keys, profile, SSO session, role). */
export function isMissingCredentials(error: unknown): boolean {
  return error instanceof Error && error.name === 'CredentialsProviderError';
}

/** The endpoint could not be reached at all (DNS, refused, timeout). */
export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? (error as { name?: string }).name ?? '';
  return ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code);
}

export function describeAwsError(error: unknown): string {
  const info = awsErrorInfo(error);
  return info.message && info.message !== info.code ? `${info.code}: ${info.message}` : info.code;
}
