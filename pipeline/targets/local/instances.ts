// Instance containers: the baked image booted with systemd as PID 1, the way an EC2
// instance boots the AMI. Docker restarts a dead one; systemd restarts a dead service.

import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import type { StageIO } from '../../context.ts';
import type { ImageRef } from '../target.ts';
import { docker, listContainers, type ContainerSummary } from './docker.ts';
import {
  dockerCreate,
  dockerExec,
  dockerInspect,
  dockerRm,
  dockerStart,
  dockerStop,
  type ContainerSpec,
} from './docker-commands.ts';
import { LABEL, instanceName, ownerFilters, ownerLabels } from './names.ts';
import type { LocalScope } from './scope.ts';
import { copySettingsInto } from './settings.ts';

// What systemd needs to run as PID 1 in a container on this kind of host (cgroup v1):
// --privileged does not work here, these do.
export const SYSTEMD_FLAGS = [
  '--cap-add',
  'SYS_ADMIN',
  '--security-opt',
  'seccomp=unconfined',
  '--cgroupns=host',
  '--volume',
  '/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--tmpfs',
  '/run',
  '--tmpfs',
  '/run/lock',
];

/** Seconds Docker waits after the stop signal; above the service's own drain timeout. */
export const STOP_TIMEOUT_S = 30;

export interface Instance {
  name: string;
  fingerprint: string;
  /** Full id (sha256:…) of the image the container runs. */
  imageId: string;
  /** Which runtime settings it started with (settings.ts settingsDigest); '' for none recorded. */
  settings: string;
  running: boolean;
  address: string;
}

export async function listInstances(
  io: StageIO,
  scope: LocalScope,
  options: { cleanup?: boolean } = {},
): Promise<Instance[]> {
  const containers = await listContainers(io, ownerFilters(scope.env, 'instance'), options);
  if (containers.length === 0) return [];
  // The fixed address given with --ip (IPAMConfig), which a stopped container keeps too.
  const details = await docker(
    io,
    dockerInspect({
      format:
        '{{.Name}} {{.Image}} {{range .NetworkSettings.Networks}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}',
      names: containers.map((c) => c.id),
    }),
    options,
  );
  const byName = new Map(
    details.split('\n').map((line) => {
      const [name = '', imageId = '', address = ''] = line.trim().split(' ');
      return [name.replace(/^\//, ''), { imageId, address }] as const;
    }),
  );
  return containers.map((container: ContainerSummary) => ({
    name: container.name,
    fingerprint: container.labels[LABEL.fingerprint] ?? '',
    imageId: byName.get(container.name)?.imageId ?? '',
    settings: container.labels[LABEL.settings] ?? '',
    running: container.state === 'running',
    address: byName.get(container.name)?.address ?? '',
  }));
}

/** What an instance starts with: the image, and the runtime settings with their digest. */
export interface Launch {
  image: ImageRef;
  settings: RuntimeSettings;
  settingsDigest: string;
}

/**
 * The container an instance is: the image with systemd as PID 1 at a fixed address,
 * labelled with what it runs. The settings are not in it (only their digest): they are
 * copied in as a file, so no value is in the container's configuration or on a command line.
 */
export function instanceContainer(scope: LocalScope, launch: Launch, name: string, address: string): ContainerSpec {
  const { env, names } = scope;
  return {
    name,
    hostname: name,
    network: names.network,
    ip: address,
    restart: 'unless-stopped',
    stopTimeoutS: STOP_TIMEOUT_S,
    flags: SYSTEMD_FLAGS,
    labels: {
      ...ownerLabels(env, 'instance'),
      [LABEL.fingerprint]: launch.image.fingerprint,
      [LABEL.settings]: launch.settingsDigest,
    },
    image: launch.image.id,
  };
}

/**
 * Creates the container, copies its settings in, then starts it: the settings are in
 * place before systemd starts the service, and never in the container's configuration.
 */
export async function startInstance(
  io: StageIO,
  scope: LocalScope,
  launch: Launch,
  address: string,
): Promise<Instance> {
  const { image } = launch;
  const name = instanceName(scope.names, image.fingerprint);
  io.progress(`starting ${name} (${address})`);
  await docker(io, dockerCreate(instanceContainer(scope, launch, name, address)));
  try {
    await copySettingsInto(io, name, launch.settings);
    await docker(io, dockerStart(name));
  } catch (error) {
    // A created container that never started is nobody's: remove it, keep the error.
    await docker(io, dockerRm(name), { cleanup: true, okExitCodes: [1] }).catch(() => {});
    throw error;
  }
  return {
    name,
    fingerprint: image.fingerprint,
    imageId: image.id,
    settings: launch.settingsDigest,
    running: true,
    address,
  };
}

/** Stops gracefully (systemd stops the service, which drains), then removes. */
export async function stopInstance(io: StageIO, name: string, options: { cleanup?: boolean } = {}): Promise<void> {
  io.progress(`stopping ${name}`);
  await docker(io, dockerStop(name, STOP_TIMEOUT_S), { ...options, okExitCodes: [1] });
  await docker(io, dockerRm(name), { ...options, okExitCodes: [1] });
}

/** The service's last journal lines inside an instance, for failure messages. */
export async function journalTail(io: StageIO, name: string, app: string, lines = 20): Promise<string[]> {
  const result = await io.run({
    ...dockerExec(name, [
      'journalctl',
      '--unit',
      `${app}.service`,
      '--lines',
      String(lines),
      '--no-pager',
      '--output',
      'short-iso',
    ]),
    quiet: true,
    cleanup: true,
    okExitCodes: [1, 126, 127],
  });
  const text = `${result.stdout}\n${result.stderr}`.trim();
  return text === '' ? ['(no journal lines)'] : text.split('\n').slice(-lines);
}
