// Container mode: bakery deploy and destroy run themselves inside the tooling image
// (docker/tooling/) unless the host already has every tool, or they already run in it.
// The user's project and bakery's installation are each mounted at their own path, so
// state and logs land on the host.

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { join } from 'node:path';
import type { TargetName } from '../config/schema.ts';
import { DeployError, EXIT, InterruptedError, PreflightError } from '../errors.ts';
import { BAKERY_ROOT } from '../install.ts';
import { formatCommand, runAttached, runCaptured } from '../process/runner.ts';
import {
  buildContainerCommand,
  buildImageCommand,
  DEFAULT_DOCKER_SOCKET,
  imageInspectCommand,
  isInteractive,
  killCommand,
  type HostUser,
  type Terminal,
} from './command.ts';
import { toolingImageTag } from './image.ts';
import { decidePlacement, isInToolingContainer, type ContainerMode } from './placement.ts';
import { describeToolStatus, type ToolStatus } from '../process/tool-versions.ts';
import { cachedProbe, defaultCacheFile } from './probe-cache.ts';
import { hostToolProblems, versionProbe, type VersionProbe } from './tools.ts';
import { targetRules } from '../targets/kind.ts';

export { containerMode, type ContainerMode } from './placement.ts';

export interface ContainerRequest {
  mode: ContainerMode;
  command: 'deploy' | 'destroy';
  /** The original arguments, passed on unchanged inside the container. */
  argv: readonly string[];
  /** The config file's directory (where .deploy/ lives). */
  root: string;
  target: TargetName;
  dryRun: boolean;
}

/** What container mode needs to know about the host; replaceable in tests. */
export interface HostFacts {
  env: NodeJS.ProcessEnv;
  cwd: string;
  user: HostUser;
  terminal: Terminal;
  home: string;
  /** Where bakery is installed: its docker/tooling/ and bin/bakery.js. */
  bakeryRoot: string;
  /** Written to for what container mode says (the command, why it runs in a container). */
  err: { write(text: string): unknown };
  probe: VersionProbe;
}

/** What the entry point hands a command: its environment and the terminal's streams. */
export interface HostStreams {
  env: NodeJS.ProcessEnv;
  err: { write(text: string): unknown; isTTY?: boolean };
  out: { isTTY?: boolean };
  stdinIsTTY: boolean;
}

/** The facts about this host, from the streams and environment the command was handed. */
export function currentHost(streams: HostStreams): HostFacts {
  const { env } = streams;
  return {
    env,
    cwd: process.cwd(),
    // No uid on Windows: Docker Desktop maps ownership itself there; 1000 is the image default.
    user: { uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 },
    terminal: { stdin: streams.stdinIsTTY, stdout: Boolean(streams.out.isTTY), stderr: Boolean(streams.err.isTTY) },
    home: env.HOME ?? homedir(),
    bakeryRoot: BAKERY_ROOT,
    err: streams.err,
    probe: cachedProbe(versionProbe(env), env.PATH, defaultCacheFile(env)),
  };
}

const MISSING_DOCKER = 'container mode needs Docker: install it, or run with the host tools: --no-container';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The engine's socket (DOCKER_HOST=unix://… or the default) and its group, when it exists. */
export function dockerSocketOf(env: NodeJS.ProcessEnv): { path: string; gid?: number } | undefined {
  const fromEnv = env.DOCKER_HOST?.startsWith('unix://') ? env.DOCKER_HOST.slice('unix://'.length) : undefined;
  if (env.DOCKER_HOST && !fromEnv) return undefined; // tcp:// or ssh://: reached over the (host) network
  const path = fromEnv ?? DEFAULT_DOCKER_SOCKET;
  try {
    return { path, gid: statSync(path).gid };
  } catch {
    return undefined;
  }
}

/** Runs the command in the tooling container when the mode asks for it; returns its exit code, or undefined to run on the host. */
export async function runInContainerIfWanted(request: ContainerRequest, host: HostFacts): Promise<number | undefined> {
  const inContainer = isInToolingContainer(host.env);
  const problems =
    request.mode === 'auto' && !inContainer ? await hostToolProblems(request.command, request.target, host.probe) : [];
  const placement = decidePlacement(request.mode, inContainer, problems);
  if (placement.where === 'host') {
    // A dry run says where the real run would go, whichever way auto decided.
    if (request.dryRun && request.mode === 'auto' && !inContainer)
      host.err.write(`dry run: on the host, not in the tooling container (${placement.reason})\n`);
    return undefined;
  }

  const contextDir = join(host.bakeryRoot, 'docker', 'tooling');
  if (!isDirectory(contextDir)) {
    throw new PreflightError(`container mode needs the tooling image definition, and ${contextDir} is missing`, [
      `placement: ${placement.reason}`,
      'restore docker/tooling/ from the repository, or run with the host tools: --no-container',
    ]);
  }
  const image = toolingImageTag(contextDir, host.user);
  const awsDir = join(host.home, '.aws');
  const dockerSocket = targetRules(request.target).toolingContainer.dockerSocket ? dockerSocketOf(host.env) : undefined;
  const runArgs = buildContainerCommand({
    image,
    name: `bakery-${request.command}-${process.pid}-${randomBytes(3).toString('hex')}`,
    command: request.command,
    argv: request.argv,
    target: request.target,
    bakeryRoot: host.bakeryRoot,
    configRoot: request.root,
    cwd: host.cwd,
    user: host.user,
    env: host.env,
    terminal: host.terminal,
    ...(isDirectory(awsDir) ? { awsDir } : {}),
    ...(dockerSocket ? { dockerSocket } : {}),
  });
  const buildArgs = buildImageCommand({ tag: image, contextDir, user: host.user });

  if (request.dryRun) {
    // The printed command carries --dry-run itself: run it to see the stages' plan
    // made with the image's tools. Nothing runs here, not even the image build.
    const present = await imageExists(image, host, problems).catch((error: unknown) => {
      if (!(error instanceof PreflightError)) throw error;
      host.err.write(`dry run: ${error.message}: the real run would stop here\n`);
      return false;
    });
    host.err.write(`dry run: would run in the tooling container (${placement.reason}):\n`);
    if (!present) host.err.write(`  ${formatCommand('docker', buildArgs)}\n`);
    host.err.write(`  ${formatCommand('docker', runArgs)}\n`);
    return EXIT.ok;
  }

  const present = await imageExists(image, host, problems);

  host.err.write(`running in the tooling container ${image} (${placement.reason})\n`);
  if (!present) {
    host.err.write(`building ${image} from ${contextDir} (first run after a change there)\n`);
    // Build output goes to stderr: stdout is kept for the URL or the --json summary.
    const code = await runAttached({
      tool: 'docker',
      args: buildArgs,
      stdio: ['ignore', 2, 2],
      detached: true,
      env: host.env,
      missingHint: MISSING_DOCKER,
    });
    if (code === EXIT.interrupted || code === 128 + constants.signals.SIGTERM)
      throw new InterruptedError('interrupted while building the tooling image');
    if (code !== 0) {
      throw new DeployError(`building the tooling image failed (docker build exited with ${code})`, [
        `command: ${formatCommand('docker', buildArgs)}`,
        'its output is above; a checksum mismatch means a pinned SHA256 in docker/tooling/Dockerfile is wrong (see docker/README.md)',
        'or run with the host tools: --no-container',
      ]);
    }
  }
  return runContainer(runArgs, host);
}

async function imageExists(image: string, host: HostFacts, problems: readonly ToolStatus[]): Promise<boolean> {
  try {
    const code = await runAttached({
      tool: 'docker',
      args: imageInspectCommand(image),
      stdio: 'ignore',
      detached: true,
      env: host.env,
      missingHint: MISSING_DOCKER,
    });
    return code === 0;
  } catch (error) {
    if (error instanceof PreflightError && problems.length > 0) {
      throw new PreflightError(
        'this run needs either the tools on the host or Docker for the tooling container, and has neither',
        [
          ...problems.map((problem) => `host: ${describeToolStatus(problem)}`),
          'host: docker is not on PATH',
          'install Docker (bakery then brings its own tools), or install the tools above and run with --no-container',
        ],
      );
    }
    throw error;
  }
}

function runContainer(args: string[], host: HostFacts): Promise<number> {
  const interactive = isInteractive(host.terminal);
  const name = args[args.indexOf('--name') + 1] as string;
  return runAttached({
    tool: 'docker',
    args,
    missingHint: MISSING_DOCKER,
    stdio: interactive ? 'inherit' : ['ignore', 'inherit', 'inherit'],
    // Attached to the terminal (-i -t), docker must stay in the foreground process group.
    detached: !interactive,
    env: host.env,
    // Without a TTY, docker's signal proxy passes what the client gets on to the
    // container (tini, then node). With a TTY it does not (the terminal carries Ctrl-C as
    // a byte), so a signal sent to bakery itself goes through the engine instead.
    forward: (signal, child) => {
      if (!interactive) {
        child.kill(signal);
        return;
      }
      // Fire and forget: the container's own exit ends the run either way.
      void runCaptured({ tool: 'docker', args: killCommand(name, signal), env: host.env });
    },
  });
}
