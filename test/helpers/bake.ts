// Real bakes for the tests: packer, ansible and docker run as plain child
// processes. runTool() is the one place that starts them, so it can later be
// swapped for the project's process runner (pipeline/process/runner.ts).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/files.ts';

export const PACKER_DIR = join(REPO_ROOT, 'packer');
export const ANSIBLE_DIR = join(REPO_ROOT, 'ansible');
export const BASE_IMAGE = process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm';

/**
 * The flags that boot an image with systemd as PID 1 on this kind of machine
 * (`--privileged` does not work here).
 */
export const SYSTEMD_RUN_FLAGS = [
  '--cap-add',
  'SYS_ADMIN',
  '--security-opt',
  'seccomp=unconfined',
  '--cgroupns=host',
  '-v',
  '/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--tmpfs',
  '/run',
  '--tmpfs',
  '/run/lock',
] as const;

export interface ToolResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs one external tool to completion; never rejects for a non-zero exit. */
export function runTool(file: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        killSignal: 'SIGINT',
      },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        if (failure && typeof failure.code === 'string') {
          reject(new Error(`${file} could not be started: ${failure.message}`));
          return;
        }
        resolve({
          command,
          code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    ).stdin?.end();
  });
}

/** The last `count` lines of a tool's output, for failure messages. */
export function tailOf(result: ToolResult, count = 40): string {
  const lines = `${result.stdout}\n${result.stderr}`.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}

/** Throws with the command, its exit status and the end of its output unless it exited 0. */
export function assertSucceeded(result: ToolResult, count = 40): ToolResult {
  if (result.code !== 0) {
    throw new Error(
      `${result.command}\nexited with ${result.code ?? `signal ${result.signal}`}; last lines:\n${tailOf(result, count)}`,
    );
  }
  return result;
}

/** The bake variables of packer/variables.pkr.hcl that the tests set. */
export interface BakeVariables {
  app_name: string;
  environment: string;
  version: string;
  fingerprint: string;
  git_revision: string;
  service_port: number;
  baked_at: string;
  base_docker_image: string;
  /** all (default), base or app: packer/variables.pkr.hcl's bake_layer. */
  bake_layer?: 'all' | 'base' | 'app';
  ssh_source_cidrs?: string[];
  aws_region?: string;
  instance_type?: string;
  /** service.build: commands run in the app layer. */
  app_build_commands?: string[];
}

/** Variables for a throw-away test bake: unique names so nothing real is touched. */
export function testBakeVariables(overrides: Partial<BakeVariables> = {}): BakeVariables {
  return {
    app_name: `bake-test-${randomBytes(3).toString('hex')}`,
    environment: 'test',
    version: '1.2.3-test',
    fingerprint: randomBytes(32).toString('hex'),
    git_revision: 'abcdef1',
    service_port: 8081,
    baked_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    base_docker_image: BASE_IMAGE,
    ...overrides,
  };
}

/** PKR_VAR_* environment variables: strings as they are, lists and numbers as HCL literals. */
export function packerEnv(variables: BakeVariables): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (value === undefined) continue;
    env[`PKR_VAR_${name}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return env;
}

/** One line of `packer -machine-readable` output: timestamp,target,type,data... */
export interface MachineLine {
  timestamp: number;
  target: string;
  type: string;
  data: string[];
}

/** Parses machine-readable output; Packer escapes commas in data as %!(PACKER_COMMA). */
export function parseMachineReadable(output: string): MachineLine[] {
  const lines: MachineLine[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',');
    if (fields.length < 3 || !/^\d+$/.test(fields[0] ?? '')) continue;
    lines.push({
      timestamp: Number(fields[0]),
      target: fields[1] ?? '',
      type: fields[2] ?? '',
      data: fields.slice(3).map((field) => field.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n')),
    });
  }
  return lines;
}

/** The id of a build's first artifact (`<ts>,docker.app,artifact,0,id,sha256:…`). */
export function artifactIdOf(lines: readonly MachineLine[], build: string): string | undefined {
  const line = lines.find(
    (entry) => entry.target === build && entry.type === 'artifact' && entry.data[0] === '0' && entry.data[1] === 'id',
  );
  return line?.data[2];
}

export interface BakeResult {
  imageId: string;
  seconds: number;
  lines: MachineLine[];
  result: ToolResult;
}

/** Bakes packer/ for one source (`docker.app`) with the given variables. */
export async function bake(variables: BakeVariables, build = 'docker.app'): Promise<BakeResult> {
  const started = performance.now();
  const result = await runTool('packer', ['build', `-only=${build}`, '-machine-readable', `${PACKER_DIR}/`], {
    // CHECKPOINT_DISABLE: no version check against HashiCorp's servers.
    env: { ...packerEnv(variables), CHECKPOINT_DISABLE: '1' },
    timeoutMs: 20 * 60_000,
  });
  const seconds = (performance.now() - started) / 1000;
  const lines = parseMachineReadable(result.stdout);
  if (result.code !== 0) {
    const errors = lines.filter((line) => line.type === 'error' || (line.type === 'ui' && line.data[0] === 'error'));
    const detail = errors.map((line) => line.data.join(' ')).join('\n') || tailOf(result);
    throw new Error(
      `packer build -only=${build} failed (exit ${result.code}):\n${detail}\n--- last lines ---\n${tailOf(result)}`,
    );
  }
  const imageId = artifactIdOf(lines, build);
  if (!imageId) throw new Error(`packer build -only=${build} printed no artifact id; last lines:\n${tailOf(result)}`);
  return { imageId, seconds, lines, result };
}

/** `docker …`, asserted to succeed; returns its trimmed stdout. */
export async function docker(...args: string[]): Promise<string> {
  return assertSucceeded(await runTool('docker', args)).stdout.trim();
}

/** Removes containers and images by id or name, ignoring the ones already gone. */
export async function removeDockerObjects(containers: readonly string[], images: readonly string[]): Promise<void> {
  if (containers.length > 0) await runTool('docker', ['rm', '--force', '--volumes', ...containers]);
  if (images.length > 0) await runTool('docker', ['rmi', '--force', ...images]);
}

/** Polls `check` every `intervalMs` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The playbook's variables as the Packer template passes them (packer/app.pkr.hcl). */
export function playbookVariablesOf(variables: BakeVariables): Record<string, string | number> {
  return {
    app_name: variables.app_name,
    app_environment: variables.environment,
    app_version: variables.version,
    app_fingerprint: variables.fingerprint,
    app_git_revision: variables.git_revision,
    app_port: variables.service_port,
    app_baked_at: variables.baked_at,
  };
}

/** Runs ansible/playbook.yml against a running container (community.docker.docker connection). */
export function runPlaybook(container: string, extraVars: Record<string, string | number>): Promise<ToolResult> {
  return runTool(
    'ansible-playbook',
    [
      '--inventory',
      `${container},`,
      '--connection',
      'community.docker.docker',
      '--extra-vars',
      JSON.stringify(extraVars),
      join(ANSIBLE_DIR, 'playbook.yml'),
    ],
    {
      env: { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
      timeoutMs: 15 * 60_000,
    },
  );
}

export interface Recap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
}

/** The PLAY RECAP counters of one host. */
export function recapOf(output: string, host: string): Recap {
  const line = output.split('\n').find((entry) => entry.startsWith(`${host} `) && entry.includes('changed='));
  if (!line) throw new Error(`no PLAY RECAP line for ${host} in:\n${output.slice(-3000)}`);
  const count = (key: string): number => Number(new RegExp(`\\b${key}=(\\d+)`).exec(line)?.[1] ?? Number.NaN);
  return { ok: count('ok'), changed: count('changed'), unreachable: count('unreachable'), failed: count('failed') };
}

/** Names of the tasks that reported a change ("TASK [role : name]" followed by "changed:"). */
export function changedTasks(output: string): string[] {
  const names: string[] = [];
  let task = '';
  for (const line of output.split('\n')) {
    const header = /^(?:TASK|RUNNING HANDLER) \[(.+?)\]/.exec(line);
    if (header) task = header[1] ?? '';
    else if (line.startsWith('changed:') && !names.includes(task)) names.push(task);
  }
  return names;
}
