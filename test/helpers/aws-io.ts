// A StageIO that records what a stage says, for unit tests of the aws target's modules,
// and SDK clients whose calls aws-sdk-client-mock answers.

import { bundledService } from '../../pipeline/config/service.ts';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsEnvironment } from '../../pipeline/config/schema.ts';
import type { StageIO } from '../../pipeline/context.ts';
import type { ToolResult, ToolRun } from '../../pipeline/process/runner.ts';
import type { RetryPolicy } from '../../pipeline/targets/aws/call.ts';
import { createAwsClients, type AwsClients } from '../../pipeline/targets/aws/clients.ts';

export interface RecordingIO extends StageIO {
  progressed: string[];
  infos: string[];
  warnings: string[];
  notes: string[];
  /** What --verbose would show (poll attempts, retries). */
  debugs: string[];
  runs: ToolRun[];
  abort(): void;
}

export function recordingIO(answer: (spec: ToolRun) => Partial<ToolResult> = () => ({})): RecordingIO {
  const controller = new AbortController();
  const io: RecordingIO = {
    stage: 'test',
    signal: controller.signal,
    progressed: [],
    infos: [],
    warnings: [],
    notes: [],
    debugs: [],
    runs: [],
    abort: () => controller.abort(new Error('test abort')),
    run: async (spec) => {
      io.runs.push(spec);
      return { exitCode: 0, stdout: '', stderr: '', ...answer(spec) };
    },
    progress: (text) => void io.progressed.push(text),
    info: (text, details) => void io.infos.push([text, ...(details ?? [])].join('\n')),
    warn: (text, details) => void io.warnings.push([text, ...(details ?? [])].join('\n')),
    note: (text) => void io.notes.push(text),
    debug: (text) => void io.debugs.push(text),
  };
  return io;
}

/** Four attempts with pauses of a few milliseconds: retries are exercised, tests stay fast. */
export const FAST_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1, throttledBaseDelayMs: 2, maxDelayMs: 5 };

/** Real clients (never sending anything: every command is answered by the mocks). */
export function mockedClients(): {
  clients: AwsClients;
  ec2: ReturnType<typeof mockClient>;
  sts: ReturnType<typeof mockClient>;
  autoscaling: ReturnType<typeof mockClient>;
  elbv2: ReturnType<typeof mockClient>;
  cloudwatch: ReturnType<typeof mockClient>;
  logs: ReturnType<typeof mockClient>;
  restore(): void;
} {
  const clients: AwsClients = { ...createAwsClients('eu-west-1', {}), retry: FAST_RETRY };
  const mocks = {
    ec2: mockClient(clients.ec2),
    sts: mockClient(clients.sts),
    autoscaling: mockClient(clients.autoscaling),
    elbv2: mockClient(clients.elbv2),
    cloudwatch: mockClient(clients.cloudwatch),
    logs: mockClient(clients.logs),
  };
  return {
    clients,
    ...mocks,
    restore: () => {
      for (const mock of Object.values(mocks)) mock.restore();
      clients.destroy();
    },
  };
}

/** An SDK service error as the SDK raises it (name = code, $metadata with the status). */
export function awsError(code: string, message = code, status = 400): Error {
  return Object.assign(new Error(message), {
    name: code,
    Code: code,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
  });
}

/**
 * What the SDK throws when the answer is not AWS's (a proxy's or load balancer's HTML
 * error page): its XML parser's complaint, with the raw response kept on hidden fields.
 * The shape is the one SDK 3.1142 gives against test/fakes/aws-api.ts answering HTML.
 */
export function htmlPageError(status = 500, title = '500 Internal Server Error'): Error {
  const error = Object.assign(
    new Error(
      '@aws-sdk XML parse error: mismatched tags <html> and </title>.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.',
    ),
    { $metadata: { httpStatusCode: status } },
  );
  Object.defineProperty(error, '$response', {
    value: { statusCode: status, headers: { 'content-type': 'text/html' } },
    enumerable: false,
  });
  Object.defineProperty(error, '$responseBodyText', {
    value: `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`,
    enumerable: false,
  });
  return error;
}

/** A connection the SDK saw drop: TimeoutError with Node's errno code. */
export function networkError(code = 'ECONNRESET', message = 'socket hang up'): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code, $metadata: {} });
}

/** Everything a RecordingIO showed or logged, for "no stack trace reached the output" checks. */
export function everythingSaid(io: RecordingIO): string {
  return [...io.progressed, ...io.infos, ...io.warnings, ...io.notes, ...io.debugs].join('\n');
}

/** demo/staging on the aws target with the defaults deploy.yaml would give it. */
export function awsEnvironment(
  aws: Partial<AwsEnvironment['aws']> = {},
  overrides: Partial<AwsEnvironment> = {},
): AwsEnvironment {
  return {
    name: 'staging',
    app: 'demo',
    target: 'aws',
    instances: { min: 2, desired: 2, max: 4 },
    service: bundledService(),
    health: { interval_s: 10, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 5, deadline_s: 900 },
    image: { keep: 3, base_max_age_days: 7 },
    rollout: { canary: { instances: 1, bake_s: 10 }, max_error_rate: 0.01, min_requests: 20 },
    baseAmi: { owner: '136693071363', name: 'debian-12-amd64-*' },
    aws: {
      region: 'eu-west-1',
      instance_type: 't3.micro',
      state: { backend: 'local' },
      logs: { retention_days: 30 },
      idle_timeout_s: 60,
      deregistration_delay_s: 30,
      instance_warmup_s: 30,
      root_volume_size_gb: 8,
      deletion_protection: true,
      ...aws,
    } as AwsEnvironment['aws'],
    ...overrides,
  };
}
