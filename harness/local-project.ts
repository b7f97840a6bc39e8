// A throwaway bakery project for end-to-end tests on the local target: a user's project
// as bakery sees one, holding a copy of the demo service (so a test can change it without
// touching the repo) and its own deploy.yaml, app name and port, driven through the real
// entry point. bakery's own files (packer/, ansible/, launcher/, docker/) come from this
// checkout, its installation.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const REPO = resolve(import.meta.dirname, '..');
/** The executable, started with node: the compiled runner when built, else the sources (bin/bakery.js says when). */
export const BAKERY_BIN = join(REPO, 'bin', 'bakery.js');
const ENTRY_COMMANDS = { 'deploy.ts': 'deploy', 'destroy.ts': 'destroy', 'status.ts': 'status' } as const;

export interface ProjectOptions {
  app: string;
  env?: string;
  port: number;
  desired?: number;
  deadlineS?: number;
  baseImage?: string;
  /** Extra lines under the environment (already indented by the caller's choice of 4 spaces). */
  envYaml?: string[];
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface TempProject {
  dir: string;
  config: string;
  url: string;
  deploy(...args: string[]): Promise<CommandResult>;
  destroy(...args: string[]): Promise<CommandResult>;
  /** Rewrites a file of the copy (e.g. to change the service). */
  edit(path: string, change: (text: string) => string): Promise<void>;
  remove(): Promise<void>;
}

export function deployYaml(options: ProjectOptions): string {
  const env = options.env ?? 'local';
  return [
    `app: ${options.app}`,
    // The demo as the project's own app: the copy createProject makes, which tests edit.
    "service: { source: service, entrypoint: 'bakery_service:create_app()' }",
    'environments:',
    `  ${env}:`,
    '    target: local',
    `    instances: { min: 1, desired: ${options.desired ?? 2}, max: 4 }`,
    `    health: { deadline_s: ${options.deadlineS ?? 90} }`,
    '    local:',
    `      port: ${options.port}`,
    `      base_image: ${options.baseImage ?? process.env.BAKERY_BASE_IMAGE ?? 'bakery-base:bookworm'}`,
    ...(options.envYaml ?? []).map((line) => `    ${line}`),
    '',
  ].join('\n');
}

/** Starts an entry point as a child process; the caller may signal it. */
export function spawnEntry(
  entry: 'deploy.ts' | 'destroy.ts' | 'status.ts',
  args: string[],
  env: NodeJS.ProcessEnv = {},
) {
  return execa('node', [BAKERY_BIN, ENTRY_COMMANDS[entry], ...args], {
    cwd: REPO,
    reject: false,
    stdin: 'ignore',
    env: { CI: 'true', BAKERY_NO_CONTAINER: '1', ...env },
    timeout: 15 * 60_000,
  });
}

export async function runEntry(
  entry: 'deploy.ts' | 'destroy.ts' | 'status.ts',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CommandResult> {
  const result = await spawnEntry(entry, args, env);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export async function createProject(options: ProjectOptions): Promise<TempProject> {
  const dir = await mkdtemp(join(tmpdir(), `bakery-${options.app}-`));
  await cp(join(REPO, 'service'), join(dir, 'service'), {
    recursive: true,
    filter: (source) => !/__pycache__|\.pytest_cache/.test(source),
  });
  const config = join(dir, 'deploy.yaml');
  await writeFile(config, deployYaml(options));
  const env = options.env ?? 'local';
  return {
    dir,
    config,
    url: `http://127.0.0.1:${options.port}/`,
    deploy: (...args) => runEntry('deploy.ts', [env, '--config', config, ...args]),
    destroy: (...args) => runEntry('destroy.ts', [env, '--config', config, ...args]),
    async edit(path, change) {
      const file = join(dir, path);
      await writeFile(file, change(await readFile(file, 'utf8')));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Docker resources labelled with the app (any environment), as "kind name" lines. */
export async function leftovers(app: string): Promise<string[]> {
  const filter = ['--filter', `label=bakery.app=${app}`];
  const lines: string[] = [];
  const run = async (args: string[], kind: string): Promise<void> => {
    const { stdout } = await execa(
      'docker',
      [...args, ...filter, '--format', '{{.Names}}{{.Name}}{{.Repository}}:{{.Tag}}'].filter(Boolean),
      { reject: false },
    );
    for (const line of String(stdout)
      .split('\n')
      .filter((l) => l.trim() !== ''))
      lines.push(`${kind} ${line}`);
  };
  await run(['ps', '-a'], 'container');
  await run(['network', 'ls'], 'network');
  await run(['images'], 'image');
  return lines;
}

export async function dockerText(args: string[]): Promise<string> {
  const { stdout } = await execa('docker', args);
  return String(stdout).trim();
}
