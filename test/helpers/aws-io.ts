// A StageIO that records what a stage says, for unit tests of the aws target's modules,
// and SDK clients whose calls aws-sdk-client-mock answers.

import { mockClient } from 'aws-sdk-client-mock';
import type { AwsEnvironment } from '../../pipeline/config/schema.ts';
import type { StageIO } from '../../pipeline/context.ts';
import type { ToolResult, ToolRun } from '../../pipeline/process/runner.ts';
import { createAwsClients, type AwsClients } from '../../pipeline/targets/aws/clients.ts';

export interface RecordingIO extends StageIO {
  progressed: string[];
  infos: string[];
  warnings: string[];
  notes: string[];
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
    debug: (text) => void io.notes.push(text),
  };
  return io;
}

/** Real clients (never sending anything: every command is answered by the mocks). */
export function mockedClients(): { clients: AwsClients; ec2: ReturnType<typeof mockClient>; sts: ReturnType<typeof mockClient>; autoscaling: ReturnType<typeof mockClient>; elbv2: ReturnType<typeof mockClient>; restore(): void } {
  const clients = createAwsClients('eu-west-1', { AWS_MAX_ATTEMPTS: '1' });
  const mocks = {
    ec2: mockClient(clients.ec2),
    sts: mockClient(clients.sts),
    autoscaling: mockClient(clients.autoscaling),
    elbv2: mockClient(clients.elbv2),
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
  return Object.assign(new Error(message), { name: code, Code: code, $fault: 'client', $metadata: { httpStatusCode: status } });
}


/** demo/staging on the aws target with the defaults deploy.yaml would give it. */
export function awsEnvironment(aws: Partial<AwsEnvironment['aws']> = {}, overrides: Partial<AwsEnvironment> = {}): AwsEnvironment {
  return {
    name: 'staging',
    app: 'demo',
    target: 'aws',
    instances: { min: 2, desired: 2, max: 4 },
    service: { port: 8080, health_path: '/health' },
    health: { interval_s: 10, healthy_threshold: 2, unhealthy_threshold: 2, timeout_s: 5, deadline_s: 900 },
    image: { keep: 3 },
    rollout: { canary: { instances: 1, bake_s: 10 }, max_error_rate: 0.01, min_requests: 20 },
    baseAmi: { owner: '136693071363', name: 'debian-12-amd64-*' },
    aws: { region: 'eu-west-1', instance_type: 't3.micro', state: { backend: 'local' }, ...aws } as AwsEnvironment['aws'],
    ...overrides,
  };
}
