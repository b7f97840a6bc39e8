// The one wrapper around AWS API calls (pipeline/targets/aws/call.ts): what it retries,
// how often, what it shows while retrying, and the AwsCallError it ends with.

import * as assert from 'uvu/assert';
import { InterruptedError } from '../../pipeline/errors.ts';
import { backoffMs, callAws, DEFAULT_RETRY, retryPolicy, type AwsCall } from '../../pipeline/targets/aws/call.ts';
import { AwsCallError, awsErrorInfo } from '../../pipeline/targets/aws/errors.ts';
import { awsError, everythingSaid, FAST_RETRY, htmlPageError, networkError, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Call = suite('AWS calls');

const CALL: AwsCall = { call: 'autoscaling:DescribeInstanceRefreshes', resource: 'demo-staging', retry: FAST_RETRY };

/** A send() that fails with `errors` in turn, then answers `value`; counts its calls. */
function answers<T>(errors: unknown[], value: T): { send: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    send: async () => {
      const error = errors[calls++];
      if (error !== undefined) throw error;
      return value;
    },
    calls: () => calls,
  };
}

async function failure(promise: Promise<unknown>): Promise<AwsCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(error, AwsCallError);
  return error as AwsCallError;
}

Call('a call that answers is not retried', async () => {
  const io = recordingIO();
  const fake = answers([], 'ok');
  assert.is(await callAws(io, CALL, fake.send), 'ok');
  assert.is(fake.calls(), 1);
  assert.equal(io.debugs, []);
});

for (const [what, error] of [
  ['throttling', awsError('Throttling', 'Rate exceeded')],
  ['EC2 throttling', awsError('RequestLimitExceeded', 'Request limit exceeded.', 503)],
  ['HTTP 429', awsError('TooManyRequests', 'slow down', 429)],
  ['a 5xx', awsError('InternalFailure', 'An internal error occurred', 500)],
  ['a reset connection', networkError('ECONNRESET')],
  ['a timed-out connection', networkError('ETIMEDOUT', 'connect ETIMEDOUT')],
  ['an HTML page with 500', htmlPageError(500)],
  ['an HTML page with 200 (a captive portal)', htmlPageError(200, 'Sign in to the network')],
] as const) {
  Call(`${what} is retried, and the call succeeds once AWS answers`, async () => {
    const io = recordingIO();
    const fake = answers([error, error], 'ok');
    assert.is(await callAws(io, CALL, fake.send), 'ok');
    assert.is(fake.calls(), 3);
    assert.is(io.debugs.length, 2, 'each retry logged for --verbose');
    assert.match(
      io.debugs[0] ?? '',
      /^autoscaling:DescribeInstanceRefreshes for demo-staging: attempt 1 failed: .+; retrying in \d+\.\d s \(attempt 2 of 4\)$/,
    );
    assert.match(
      io.progressed[0] ?? '',
      /^autoscaling:DescribeInstanceRefreshes: .+, retrying in \d+\.\d s \(attempt 2 of 4\)$/,
    );
  });
}

for (const [what, error] of [
  [
    'access denied',
    awsError('AccessDenied', 'User is not authorized to perform: autoscaling:DescribeInstanceRefreshes', 403),
  ],
  ['a validation error', awsError('ValidationError', 'AutoScalingGroup name not found')],
  [
    'a host name that does not resolve',
    Object.assign(new Error('getaddrinfo ENOTFOUND autoscaling.eu-west-9.amazonaws.com'), { code: 'ENOTFOUND' }),
  ],
  ['expired credentials', awsError('ExpiredToken', 'The security token included in the request is expired', 403)],
] as const) {
  Call(`${what} fails at once: retrying cannot help`, async () => {
    const fake = answers([error], 'ok');
    const failed = await failure(callAws(recordingIO(), CALL, fake.send));
    assert.is(fake.calls(), 1);
    assert.is(failed.attempts, 1);
    assert.is(failed.exitCode, 1);
  });
}

Call('an HTML page to the last attempt gives a message naming the call, the resource and what answered', async () => {
  const io = recordingIO();
  const fake = answers(Array(10).fill(htmlPageError(500)), 'never');
  const failed = await failure(callAws(io, CALL, fake.send));
  assert.is(fake.calls(), FAST_RETRY.attempts);
  assert.is(
    failed.message,
    'autoscaling:DescribeInstanceRefreshes for demo-staging failed after 4 attempts: HTTP 500: an HTML page instead of an AWS response ("500 Internal Server Error")',
  );
  assert.match(
    failed.details.join('\n'),
    /something other than AWS answered \(a proxy, a captive portal, or an AWS_ENDPOINT_URL\* pointing at another server\)/,
  );
  for (const text of [failed.message, ...failed.details, everythingSaid(io)]) {
    assert.not.match(
      text,
      /@aws-sdk|XML parse error|Deserialization error|\n\s+at /,
      'the SDK message and its stack stay out',
    );
  }
  assert.instance(failed.cause, Error, 'the SDK error is kept as the cause');
});

Call('access denied names AWS code and message, and points at the IAM policy', async () => {
  const error = awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403);
  const failed = await failure(
    callAws(recordingIO(), { ...CALL, call: 'ec2:DescribeImages', resource: 'ami-0abc' }, answers([error], 'x').send),
  );
  assert.is(
    failed.message,
    'ec2:DescribeImages for ami-0abc failed: UnauthorizedOperation: You are not authorized to perform this operation.',
  );
  assert.equal(failed.details, [
    'the credentials are not allowed ec2:DescribeImages: iam/deploy-policy.json lists every permission bakery needs; attach it to the role or user that deploys',
  ]);
  assert.is(awsErrorInfo(failed).code, 'UnauthorizedOperation', 'callers can still tell the codes apart');
});

Call('expired credentials say to refresh them; a caller remedy is added', async () => {
  const error = awsError('ExpiredToken', 'The security token included in the request is expired', 403);
  const failed = await failure(
    callAws(recordingIO(), { ...CALL, remedy: 'run ./destroy.ts again' }, answers([error], 'x').send),
  );
  assert.equal(failed.details, [
    'the AWS credentials have expired: refresh them (`aws sso login`, or new session keys) and run again',
    'run ./destroy.ts again',
  ]);
});

Call('throttling on every attempt gives up after the policy attempts and says so', async () => {
  const failed = await failure(
    callAws(recordingIO(), CALL, answers(Array(10).fill(awsError('Throttling', 'Rate exceeded')), 'x').send),
  );
  assert.is(failed.attempts, 4);
  assert.match(failed.message, /failed after 4 attempts: Throttling: Rate exceeded$/);
  assert.match(failed.details[0] ?? '', /kept throttling/);
});

Call('an interruption during a call is an InterruptedError, not an AWS failure', async () => {
  const io = recordingIO();
  const error = await callAws(io, CALL, async () => {
    io.abort();
    throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
  }).catch((e: unknown) => e);
  assert.instance(error, InterruptedError);
  assert.is((error as InterruptedError).exitCode, 130);
  assert.match((error as Error).message, /interrupted during autoscaling:DescribeInstanceRefreshes for demo-staging/);
});

Call('an interruption during the pause before a retry stops at once', async () => {
  const io = recordingIO();
  let calls = 0;
  const slow: AwsCall = {
    ...CALL,
    retry: { attempts: 5, baseDelayMs: 60_000, throttledBaseDelayMs: 60_000, maxDelayMs: 60_000 },
  };
  setTimeout(() => io.abort(), 20);
  const error = await callAws(io, slow, async () => {
    calls++;
    throw awsError('Throttling', 'Rate exceeded');
  }).catch((e: unknown) => e);
  assert.instance(error, InterruptedError);
  assert.is(calls, 1, 'no attempt after the interruption');
});

Call('backoff doubles up to the cap, with full jitter below it; throttling starts slower', () => {
  const top = (): number => 1;
  assert.equal(
    [1, 2, 3, 4].map((n) => backoffMs(DEFAULT_RETRY, n, false, top)),
    [100, 200, 400, 800],
  );
  assert.equal(
    [1, 2, 3].map((n) => backoffMs(DEFAULT_RETRY, n, true, top)),
    [500, 1000, 2000],
  );
  assert.is(backoffMs(DEFAULT_RETRY, 12, true, top), DEFAULT_RETRY.maxDelayMs);
  assert.is(
    backoffMs(DEFAULT_RETRY, 3, false, () => 0.5),
    200,
  );
  assert.is(
    backoffMs(DEFAULT_RETRY, 3, false, () => 0),
    0,
  );
});

Call('AWS_MAX_ATTEMPTS sets the attempts; anything but a positive integer keeps the default', () => {
  assert.is(retryPolicy({ AWS_MAX_ATTEMPTS: '3' }).attempts, 3);
  assert.is(retryPolicy({ AWS_MAX_ATTEMPTS: '0' }).attempts, DEFAULT_RETRY.attempts);
  assert.is(retryPolicy({}).attempts, DEFAULT_RETRY.attempts);
});

Call.run();
