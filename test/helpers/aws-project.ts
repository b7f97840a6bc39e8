// A throwaway bakery project on the aws target for end-to-end tests: its own deploy.yaml,
// the repository's terraform/ linked in, fake `terraform` and `packer` first on PATH, a
// fake AWS API on 127.0.0.1 (test/fakes/aws-api.ts) and a local HTTP server standing in
// for the load balancer. Nothing leaves 127.0.0.1: the child gets no real credentials,
// IMDS is disabled and every AWS endpoint points at the fake.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { FakeAws, type FakeAwsOptions, type FakeImage } from '../fakes/aws-api.ts';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const FAKES = join(REPO, 'test', 'fakes', 'bin');
/** Test-only TLS material: a CA, a certificate it signed for demo.example.com, and a self-signed one. */
export const TLS = join(REPO, 'test', 'fakes', 'tls');
export const FAKE_KEY_ID = 'AKIAFAKEFAKEFAKE1234';
export const FAKE_SECRET = 'fakeSecretKeyForTestsOnly/0123456789abcdefgh';

/** An AMI baked for demo/staging earlier (`daysAgo` days before now). */
export function bakedImage(id: string, daysAgo: number, snapshot: string): FakeImage {
  return {
    id,
    name: `demo-staging-${id.slice(4, 16)}`,
    owner: '123456789012',
    created: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
    tags: { 'bakery:app': 'demo', 'bakery:env': 'staging', 'bakery:fingerprint': `old-${id}` },
    snapshots: [snapshot],
  };
}

export const BASE_AMI: FakeImage = {
  id: 'ami-0debian12base0001',
  name: 'debian-12-amd64-20261101-1234',
  owner: '136693071363',
  created: '2026-11-01T10:00:00.000Z',
  tags: {},
  snapshots: ['snap-0base0000000001'],
};

/** A default VPC with default subnets in two zones, t3.micro offered in both, the Debian AMI. */
export function defaultAccount(overrides: FakeAwsOptions = {}): FakeAwsOptions {
  return {
    vpcs: [{ id: 'vpc-0def0000000000001', isDefault: true }],
    subnets: [
      { id: 'subnet-0aaa000000000001', vpcId: 'vpc-0def0000000000001', az: 'eu-west-1a', defaultForAz: true },
      { id: 'subnet-0bbb000000000002', vpcId: 'vpc-0def0000000000001', az: 'eu-west-1b', defaultForAz: true },
    ],
    offerings: { 't3.micro': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
    images: [structuredClone(BASE_AMI)],
    targets: [
      [
        { id: 'i-0new0000000000001', state: 'healthy' },
        { id: 'i-0new0000000000002', state: 'healthy' },
      ],
    ],
    ...overrides,
  };
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunningCommand {
  child: ChildProcess;
  done: Promise<RunResult>;
}

export interface AwsProjectOptions {
  aws?: FakeAwsOptions;
  /** Extra lines under environments.staging.aws (YAML, indented by the helper). */
  awsYaml?: string[];
  /** Extra lines under environments.staging (image, health…). */
  envYaml?: string[];
  /** HTTP statuses the load balancer stand-in answers /health with, in order (the last repeats). */
  health?: number[];
  /** Fake tool settings (FAKE_TF_APPLY, FAKE_TF_PLAN, FAKE_PACKER_AMI…). */
  toolEnv?: Record<string, string>;
  /** Serve the stand-in load balancer over HTTPS with a certificate for demo.example.com, signed by the test CA or self-signed. */
  tls?: 'trusted' | 'untrusted';
  /** health.deadline_s of the environment (default 20). */
  deadlineS?: number;
}

export class AwsProject {
  readonly dir: string;
  readonly config: string;
  readonly stateDir: string;
  readonly fakeState: string;
  readonly callsFile: string;
  readonly aws: FakeAws;
  healthHits = 0;
  /** The fake AWS API's URL, which every AWS_ENDPOINT_URL of the child names. */
  endpoint = '';
  private lbUrl = '';
  private lb: Server | undefined;

  private constructor(
    dir: string,
    private readonly options: AwsProjectOptions,
  ) {
    this.dir = dir;
    this.config = join(dir, 'deploy.yaml');
    this.stateDir = join(dir, '.deploy', 'staging');
    this.fakeState = join(dir, 'fake-state');
    this.callsFile = join(dir, 'calls.log');
    this.aws = new FakeAws({
      bake: {
        id: 'ami-0abc1234567890def',
        name: 'demo-staging-0123456789ab-20261122000000',
        snapshots: ['snap-0baked000000001'],
        marker: join(this.fakeState, 'baked'),
      },
      baseBake: {
        id: 'ami-0ba5e00000000001',
        name: 'demo-staging-ba5e00000001-20261121000000',
        snapshots: ['snap-0ba5e0000000001'],
        marker: join(this.fakeState, 'baked-base'),
      },
      ...options.aws,
      fleet: { imageFile: join(this.stateDir, 'terraform.tfvars.json'), ...options.aws?.fleet },
      ...(options.aws?.refresh ? { refresh: { ...options.aws.refresh, after: join(this.fakeState, 'applied') } } : {}),
    });
  }

  static async create(options: AwsProjectOptions = {}): Promise<AwsProject> {
    const dir = await mkdtemp(join(tmpdir(), 'bakery-aws-'));
    const project = new AwsProject(dir, options);
    await mkdir(project.fakeState, { recursive: true });
    await mkdir(join(dir, 'home'), { recursive: true });
    await symlink(join(REPO, 'terraform'), join(dir, 'terraform'));
    // The bake reads the version from package.json; service/, ansible/ and packer/ are
    // left out, the fake packer needs none of them (the fingerprint covers what exists).
    await copyFile(join(REPO, 'package.json'), join(dir, 'package.json'));
    await writeFile(project.callsFile, '');
    await writeFile(
      project.config,
      [
        'app: demo',
        'environments:',
        '  staging:',
        '    target: aws',
        '    instances: { min: 2, desired: 2, max: 4 }',
        `    health: { interval_s: 5, timeout_s: 2, deadline_s: ${options.deadlineS ?? 20} }`,
        ...(options.envYaml ?? []).map((line) => `    ${line}`),
        '    aws:',
        '      region: eu-west-1',
        '      instance_type: t3.micro',
        ...(options.awsYaml ?? []).map((line) => `      ${line}`),
        '',
      ].join('\n'),
    );
    project.endpoint = await project.aws.start();
    const statuses = options.health ?? [200];
    const answer = (request: IncomingMessage, response: ServerResponse): void => {
      const status =
        request.url === '/health' ? (statuses[Math.min(project.healthHits++, statuses.length - 1)] ?? 200) : 404;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok\n' : 'unavailable\n');
    };
    if (options.tls) {
      const name = options.tls === 'trusted' ? 'server' : 'untrusted';
      const [cert, key] = await Promise.all([readFile(join(TLS, `${name}.pem`)), readFile(join(TLS, `${name}.key`))]);
      project.lb = createHttpsServer({ cert, key }, answer);
    } else {
      project.lb = createServer(answer);
    }
    await new Promise<void>((resolve) => project.lb?.listen(0, '127.0.0.1', resolve));
    project.lbUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(project.lb.address() as AddressInfo).port}`;
    return project;
  }

  /** The child's whole environment: nothing of the test runner's AWS settings leaks in. */
  childEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      PATH: `${FAKES}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: join(this.dir, 'home'),
      LANG: 'C.UTF-8',
      TMPDIR: tmpdir(),
      CI: '',
      BAKERY_NO_CONTAINER: '1',
      BAKERY_AWS_POLL_MS: '50',
      BAKERY_SSH_SOURCE_CIDR: '127.0.0.1/32',
      AWS_ACCESS_KEY_ID: FAKE_KEY_ID,
      AWS_SECRET_ACCESS_KEY: FAKE_SECRET,
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(this.dir, 'home', 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(this.dir, 'home', 'no-aws-credentials'),
      FAKE_CALLS: this.callsFile,
      FAKE_STATE: this.fakeState,
      FAKE_TF_URL: this.lbUrl,
      // Trusted like a public CA would be (a real ALB certificate chains to one).
      NODE_EXTRA_CA_CERTS: join(TLS, 'ca.pem'),
      ...this.options.toolEnv,
      ...overrides,
    };
    return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  /**
   * Starts an entry point as a child (node:child_process: `uvu -r tsx` loads tests as
   * CommonJS, where execa cannot be imported).
   */
  spawn(
    entry: 'deploy.ts' | 'destroy.ts',
    args: string[] = [],
    env: Record<string, string | undefined> = {},
  ): RunningCommand {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, entry), 'staging', '--config', this.config, '--no-container', ...args],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: this.childEnv(env),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const done = new Promise<RunResult>((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ exitCode: code ?? (signal ? 128 : -1), stdout, stderr });
      }),
    );
    return { child, done };
  }

  run(
    entry: 'deploy.ts' | 'destroy.ts',
    args: string[] = [],
    env: Record<string, string | undefined> = {},
  ): Promise<RunResult> {
    return this.spawn(entry, args, env).done;
  }

  /** Rewrites deploy.yaml (a change between two deploys). */
  async editConfig(edit: (text: string) => string): Promise<void> {
    await writeFile(this.config, edit(await readFile(this.config, 'utf8')));
  }

  /** Lines the fake tools recorded: "terraform plan … | TF_IN_AUTOMATION=1", "packer build …". */
  async toolCalls(): Promise<string[]> {
    return (await readFile(this.callsFile, 'utf8')).split('\n').filter((line) => line !== '');
  }

  marker(name: string): boolean {
    return existsSync(join(this.fakeState, name));
  }

  /** The fake terraform's applies in order: when (epoch ms) and the image its inputs named. */
  async applies(): Promise<Array<{ at: number; imageId: string }>> {
    const text = await readFile(join(this.fakeState, 'applies'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [at, imageId] = line.split(' ');
        return { at: Number(at), imageId: imageId ?? '' };
      });
  }

  /**
   * Pretends an earlier deploy of `imageId` finished: the stack's state, the inputs of its
   * apply (no runtime settings) and its deployment record.
   */
  async seedDeployment(imageId: string): Promise<void> {
    await this.seedState();
    await writeFile(
      join(this.stateDir, 'terraform.tfvars.json'),
      `${JSON.stringify({ image: { id: imageId, root_device_name: '/dev/xvda' }, service_env: {}, service_ssm_parameters: {} }, null, 2)}\n`,
    );
    await writeFile(
      join(this.stateDir, 'deployment.json'),
      `${JSON.stringify({ env: 'staging', target: 'aws', image: imageId, fingerprint: 'earlier', url: 'http://127.0.0.1:9/', deployed_at: '2026-11-01T10:00:00.000Z' }, null, 2)}\n`,
    );
  }

  /** Pretends an earlier deploy created the stack (the local state holds resources). */
  async seedState(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    await writeFile(
      join(this.stateDir, 'terraform.tfstate'),
      '{\n  "version": 4,\n  "resources": [\n    { "mode": "managed", "address": "aws_lb.this" },\n    { "mode": "managed", "address": "aws_autoscaling_group.this" }\n  ]\n}\n',
    );
  }

  async remove(): Promise<void> {
    await this.aws.stop();
    this.lb?.closeAllConnections();
    await new Promise<void>((resolve) => (this.lb ? this.lb.close(() => resolve()) : resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs a scenario in a fresh project and always cleans up. */
export async function withAwsProject(
  options: AwsProjectOptions,
  body: (project: AwsProject) => Promise<void>,
): Promise<void> {
  const project = await AwsProject.create(options);
  try {
    await body(project);
  } finally {
    await project.remove();
  }
}
