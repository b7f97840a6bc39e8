// Every docker call of the local target, as data: pure functions from what is wanted to
// the docker argv, run by the process runner through docker.ts. The modules that decide
// (instances.ts, lb.ts, network.ts, …) never write argv themselves, so what runs can be
// checked without Docker (test/unit/docker-commands.test.ts).
//
// Settings and secrets never go through these: an instance's settings are copied in as
// a file (dockerCp), so no value appears on a command line, in `ps` or in a log.

import type { Command } from '../../process/command.ts';

export type DockerObject = 'image' | 'network' | 'container' | 'volume';

/** A container to create or run. Options are emitted in a fixed order, absent ones left out. */
export interface ContainerSpec {
  name: string;
  image: string;
  hostname?: string;
  network?: string;
  /** A fixed address on `network`. */
  ip?: string;
  /** host-address:host-port:container-port */
  publish?: string[];
  restart?: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** Seconds Docker waits after the stop signal before it kills. */
  stopTimeoutS?: number;
  /** Flags passed as they are (what systemd as PID 1 needs, for instance). */
  flags?: readonly string[];
  /** host-path:container-path[:options] */
  volumes?: string[];
  labels?: Record<string, string>;
  /** The command after the image; the image's own when absent. */
  command?: string[];
}

function docker(...args: string[]): Command {
  return { tool: 'docker', args };
}

function pairs(flag: string, values: readonly string[]): string[] {
  return values.flatMap((value) => [flag, value]);
}

function labelArgs(labels: Record<string, string> = {}): string[] {
  return pairs(
    '--label',
    Object.entries(labels).map(([name, value]) => `${name}=${value}`),
  );
}

function containerArgs(spec: ContainerSpec): string[] {
  return [
    '--name',
    spec.name,
    ...(spec.hostname ? ['--hostname', spec.hostname] : []),
    ...(spec.network ? ['--network', spec.network] : []),
    ...(spec.ip ? ['--ip', spec.ip] : []),
    ...pairs('--publish', spec.publish ?? []),
    ...(spec.restart ? ['--restart', spec.restart] : []),
    ...(spec.stopTimeoutS !== undefined ? ['--stop-timeout', String(spec.stopTimeoutS)] : []),
    ...(spec.flags ?? []),
    ...pairs('--volume', spec.volumes ?? []),
    ...labelArgs(spec.labels),
    spec.image,
    ...(spec.command ?? []),
  ];
}

/** The engine's version; fails when the engine is not reachable. */
export function dockerVersion(): Command {
  return docker('version', '--format', '{{.Server.Version}}');
}

export function dockerPull(image: string): Command {
  return docker('pull', image);
}

export function dockerBuild(options: { tag: string; context: string; buildArgs?: Record<string, string> }): Command {
  const buildArgs = Object.entries(options.buildArgs ?? {}).map(([name, value]) => `${name}=${value}`);
  return docker('build', ...pairs('--build-arg', buildArgs), '-t', options.tag, options.context);
}

/** Containers matching every filter (`label=k=v`, `name=^x$`), one line each in `format`. */
export function dockerPs(options: { filters: readonly string[]; format: string; all?: boolean }): Command {
  return docker(
    'ps',
    ...(options.all ? ['--all'] : []),
    '--no-trunc',
    ...pairs('--filter', options.filters),
    '--format',
    options.format,
  );
}

/** Images matching every filter, one line each in `format`. */
export function dockerImages(options: { filters: readonly string[]; format: string }): Command {
  return docker('images', '--no-trunc', ...pairs('--filter', options.filters), '--format', options.format);
}

/** `format` of each object; without `kind`, docker finds containers and images by name or id. */
export function dockerInspect(options: { kind?: DockerObject; format: string; names: readonly string[] }): Command {
  return docker(...(options.kind ? [options.kind] : []), 'inspect', '--format', options.format, ...options.names);
}

export function dockerTag(source: string, target: string): Command {
  return docker('tag', source, target);
}

/** Removes images: every tag given (removing the last deletes the image), or ids. */
export function dockerRmi(references: readonly string[]): Command {
  return docker('rmi', '--force', ...references);
}

/** Creates a container without starting it (so files can be copied in first). */
export function dockerCreate(spec: ContainerSpec): Command {
  return docker('create', ...containerArgs(spec));
}

/** Creates and starts a container in the background. */
export function dockerRun(spec: ContainerSpec): Command {
  return docker('run', '--detach', ...containerArgs(spec));
}

export function dockerStart(name: string): Command {
  return docker('start', name);
}

/** Starts a created container attached to its output (and its input with `interactive`). */
export function dockerStartAttached(name: string, options: { interactive?: boolean } = {}): Command {
  return docker('start', '--attach', ...(options.interactive ? ['--interactive'] : []), name);
}

/** Stops gracefully: the stop signal, then SIGKILL after `timeoutS`. */
export function dockerStop(name: string, timeoutS: number): Command {
  return docker('stop', '--time', String(timeoutS), name);
}

/** Removes a container even when it runs; with `volumes`, its anonymous volumes too. */
export function dockerRm(name: string, options: { volumes?: boolean } = {}): Command {
  return docker('rm', '--force', ...(options.volumes ? ['--volumes'] : []), name);
}

export function dockerKill(name: string, signal: string): Command {
  return docker('kill', '--signal', signal, name);
}

/** Runs `argv` inside a running container; `stdin` keeps its standard input open; `user` runs it as that user. */
export function dockerExec(
  name: string,
  argv: readonly string[],
  options: { stdin?: boolean; user?: string } = {},
): Command {
  return docker(
    'exec',
    ...(options.stdin ? ['-i'] : []),
    ...(options.user ? ['--user', options.user] : []),
    name,
    ...argv,
  );
}

/** Copies `path` out of a container to a host file. */
export function dockerCpOut(container: string, path: string, file: string): Command {
  return docker('cp', `${container}:${path}`, file);
}

/** A named volume, labelled with its owner. */
export function dockerVolumeCreate(name: string, labels: Record<string, string>): Command {
  return docker('volume', 'create', ...labelArgs(labels), name);
}

export function dockerVolumeRm(name: string): Command {
  return docker('volume', 'rm', name);
}

/** Copies a host file into a container (created or running) at `path`. */
export function dockerCpInto(file: string, container: string, path: string): Command {
  return docker('cp', file, `${container}:${path}`);
}

export function dockerLogs(name: string, options: { since: Date }): Command {
  return docker('logs', '--since', options.since.toISOString(), name);
}

/** Every network's id, one a line. */
export function dockerNetworkIds(): Command {
  return docker('network', 'ls', '-q');
}

/** The names of the networks matching every filter, one a line. */
export function dockerNetworkNames(filters: readonly string[]): Command {
  return docker('network', 'ls', ...pairs('--filter', filters), '--format', '{{.Name}}');
}

export function dockerNetworkCreate(options: {
  name: string;
  subnet: string;
  labels?: Record<string, string>;
}): Command {
  return docker(
    'network',
    'create',
    '--driver',
    'bridge',
    '--subnet',
    options.subnet,
    ...labelArgs(options.labels),
    options.name,
  );
}

export function dockerNetworkRm(name: string): Command {
  return docker('network', 'rm', name);
}
