// The docker commands of container mode, built by pure functions from facts about the
// host, so that what runs, what --dry-run prints and what the tests check are the same.

import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { TargetName } from '../config/schema.ts';
import { targetRules } from '../targets/kind.ts';

/** Home of the image's user (docker/tooling/Dockerfile creates it with the host's uid/gid). */
export const CONTAINER_HOME = '/home/bakery';

/**
 * tsx as installed in the image. bin/bakery.js is started with it: it runs the compiled
 * runner when there is a fresh one, and otherwise the sources through this tsx rather
 * than the host's (node_modules come from the host, and a macOS host's tsx carries a
 * macOS esbuild binary that cannot run in the container).
 */
export const IMAGE_TSX_LOADER = '/usr/local/lib/node_modules/tsx/dist/loader.mjs';

export const IMAGE_REPOSITORY = 'bakery-tooling';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

// Passed by name only: docker copies the value from its own environment, so no value
// (secrets included) ever appears on a command line, in `ps` or in --dry-run output.
const PASSTHROUGH_PREFIXES = ['AWS_', 'BAKERY_'];
const PASSTHROUGH_NAMES = [
  // CI detection and build metadata (GitHub Actions, Jenkins).
  'CI',
  'GITHUB_ACTIONS',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT',
  'GITHUB_SHA',
  'GITHUB_REF',
  'GITHUB_REF_NAME',
  'GITHUB_REPOSITORY',
  'GITHUB_WORKFLOW',
  'GITHUB_ACTOR',
  'GITHUB_SERVER_URL',
  'JENKINS_URL',
  'BUILD_ID',
  'BUILD_NUMBER',
  'BUILD_URL',
  'JOB_NAME',
  'BRANCH_NAME',
  'GIT_COMMIT',
  'GIT_BRANCH',
  // How the output should look.
  'TERM',
  'COLORTERM',
  'NO_COLOR',
  'FORCE_COLOR',
  'TZ',
  // The local target talks to the same engine as the host.
  'DOCKER_HOST',
];
// Set by the container command itself, or meaningless inside the container.
const NEVER_PASSED = new Set(['BAKERY_IN_CONTAINER', 'BAKERY_NO_CONTAINER', 'HOME']);
// AWS settings that name a file on the host: the file is mounted read-only at the same path.
const AWS_FILE_VARIABLES = [
  'AWS_CA_BUNDLE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
];

export interface HostUser {
  uid: number;
  gid: number;
}

export interface Terminal {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface ContainerCommandOptions {
  image: string;
  /** Container name, so a signal can reach it with `docker kill` when a TTY is attached. */
  name: string;
  command: 'deploy' | 'destroy';
  /** The arguments the user gave, passed on unchanged (plus --container never). */
  argv: readonly string[];
  target: TargetName;
  /** Where bakery is installed (BAKERY_ROOT, holding bin/bakery.js): mounted at the same path. */
  bakeryRoot: string;
  /** The config file's directory (holds .deploy/): mounted at the same path. */
  configRoot: string;
  /** The host's working directory: the container's, so relative --config paths mean the same. */
  cwd: string;
  user: HostUser;
  /** Names (and values, which are never put on the command line) of the host's environment. */
  env: Readonly<Record<string, string | undefined>>;
  terminal: Terminal;
  /** The host's ~/.aws when it exists (config, credentials, SSO cache). */
  awsDir?: string;
  /** The engine's socket and the group that may use it, for the local target. */
  dockerSocket?: { path: string; gid?: number };
}

/** A docker argv without the leading "docker": ["run", "--rm", ...]. */
export type DockerArgs = string[];

/** -i and -t: only when every stream is a terminal (see docker/README.md, "Terminals and signals"). */
export function isInteractive(terminal: Terminal): boolean {
  return terminal.stdin && terminal.stdout && terminal.stderr;
}

/** The environment variable names to pass through, sorted, only those set on the host. */
export function passthroughNames(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => env[name] !== undefined && !NEVER_PASSED.has(name))
    .filter(
      (name) => PASSTHROUGH_NAMES.includes(name) || PASSTHROUGH_PREFIXES.some((prefix) => name.startsWith(prefix)),
    )
    .sort();
}

/** The arguments with any --container choice replaced by `--container never`, before a `--`. */
export function withContainerNever(argv: readonly string[]): string[] {
  const kept: string[] = [];
  let index = 0;
  for (; index < argv.length; index++) {
    const word = argv[index] as string;
    if (word === '--') break;
    if (word === '--no-container' || word.startsWith('--container=')) continue;
    if (word === '--container') {
      index++;
      continue;
    }
    kept.push(word);
  }
  return [...kept, '--container', 'never', ...argv.slice(index)];
}

/** The arguments with a relative --config made absolute against `cwd` (for a different working directory). */
export function withAbsoluteConfig(argv: readonly string[], cwd: string): string[] {
  const out = [...argv];
  for (let index = 0; index < out.length; index++) {
    const word = out[index] as string;
    if (word === '--') break;
    if (word === '--config' && index + 1 < out.length) {
      index++;
      out[index] = resolve(cwd, out[index] as string);
    } else if (word.startsWith('--config=')) {
      out[index] = `--config=${resolve(cwd, word.slice('--config='.length))}`;
    }
  }
  return out;
}

/** A --mount value; fields holding a comma or a quote are CSV-quoted, as docker parses them. */
export function bindMount(source: string, target: string, readonly = false): string {
  const field = (key: string, value: string): string => {
    const pair = `${key}=${value}`;
    return /[",]/.test(pair) ? `"${pair.replace(/"/g, '""')}"` : pair;
  };
  return ['type=bind', field('source', source), field('target', target), ...(readonly ? ['readonly'] : [])].join(',');
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The directories to mount at their own path: each given one not already inside another. */
export function sharedDirectories(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const path of unique) if (!kept.some((root) => isInside(path, root))) kept.push(path);
  return kept;
}

/**
 * What to mount of bakery's installation: the node_modules holding it when it is an
 * installed package (its dependencies may be hoisted beside it), else its own directory.
 */
export function installationMount(bakeryRoot: string): string {
  const parent = dirname(bakeryRoot);
  if (basename(parent) === 'node_modules') return parent;
  const grandparent = dirname(parent);
  // A scoped package: node_modules/@scope/bakery.
  if (basename(parent).startsWith('@') && basename(grandparent) === 'node_modules') return grandparent;
  return bakeryRoot;
}

export function buildContainerCommand(options: ContainerCommandOptions): DockerArgs {
  // The user's project and bakery's installation are mounted each at its own path; one
  // inside the other (bakery in the project's node_modules) is mounted once.
  const shared = sharedDirectories([installationMount(options.bakeryRoot), options.configRoot]);
  // The working directory must exist in the container with the same meaning. Outside the
  // shared directories it would be an empty directory docker made up, so the run starts
  // in the project (the config's directory) instead and a relative --config is made absolute.
  const cwdShared = shared.some((root) => isInside(options.cwd, root));
  const workdir = cwdShared ? options.cwd : options.configRoot;
  const argv = cwdShared ? options.argv : withAbsoluteConfig(options.argv, options.cwd);
  const entry = join(options.bakeryRoot, 'bin', 'bakery.js');

  const args: DockerArgs = ['run', '--rm', '--init', '--name', options.name];
  if (isInteractive(options.terminal)) args.push('--interactive', '--tty');
  args.push('--user', `${options.user.uid}:${options.user.gid}`);
  for (const dir of shared) args.push('--mount', bindMount(dir, dir));
  args.push('--workdir', workdir);

  if (options.awsDir) args.push('--mount', bindMount(options.awsDir, `${CONTAINER_HOME}/.aws`, true));
  for (const name of AWS_FILE_VARIABLES) {
    const path = options.env[name];
    if (path && isAbsolute(path) && !(options.awsDir && isInside(path, options.awsDir)))
      args.push('--mount', bindMount(path, path, true));
  }

  if (targetRules(options.target).toolingContainer.dockerSocket && options.dockerSocket) {
    args.push('--mount', bindMount(options.dockerSocket.path, options.dockerSocket.path));
    // The image's user is not in the socket's group (its gid differs per host): add it.
    // Root needs no group to open it.
    if (
      options.dockerSocket.gid !== undefined &&
      options.dockerSocket.gid !== options.user.gid &&
      options.user.uid !== 0
    ) {
      args.push('--group-add', String(options.dockerSocket.gid));
    }
  }
  // A target that publishes on the host's 127.0.0.1 (local: the load balancer verify
  // polls) needs the host's network namespace; the others keep the isolated bridge.
  if (targetRules(options.target).toolingContainer.hostNetwork) args.push('--network', 'host');

  args.push('--env', `HOME=${CONTAINER_HOME}`, '--env', 'BAKERY_IN_CONTAINER=1');
  for (const name of passthroughNames(options.env)) args.push('--env', name);

  args.push(options.image, 'node', '--import', IMAGE_TSX_LOADER, entry, options.command, ...withContainerNever(argv));
  return args;
}

export interface ImageBuildOptions {
  tag: string;
  /** docker/tooling: the build context. */
  contextDir: string;
  user: HostUser;
}

export function buildImageCommand(options: ImageBuildOptions): DockerArgs {
  return [
    'build',
    '--tag',
    options.tag,
    '--build-arg',
    `BAKERY_UID=${options.user.uid}`,
    '--build-arg',
    `BAKERY_GID=${options.user.gid}`,
    '--file',
    join(options.contextDir, 'Dockerfile'),
    options.contextDir,
  ];
}

/** Whether the tooling image is there: exit code 0 when it is. */
export function imageInspectCommand(tag: string): DockerArgs {
  return ['image', 'inspect', '--format', '{{.Id}}', tag];
}

/** Delivers a signal to the container through the engine (when a TTY is attached, docker does not proxy it). */
export function killCommand(container: string, signal: string): DockerArgs {
  return ['kill', '--signal', signal, container];
}
