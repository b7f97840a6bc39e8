// Instance containers: the baked image booted with systemd as PID 1, the way an EC2
// instance boots the AMI. Docker restarts a dead one; systemd restarts a dead service.

import type { StageIO } from '../../context.ts';
import type { ImageRef } from '../target.ts';
import { docker, listContainers, type ContainerSummary } from './docker.ts';
import { LABEL, instanceName, ownerFilters, ownerLabels } from './names.ts';
import type { LocalScope } from './scope.ts';

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
    [
      'inspect',
      '--format',
      '{{.Name}} {{.Image}} {{range .NetworkSettings.Networks}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}',
      ...containers.map((c) => c.id),
    ],
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
    running: container.state === 'running',
    address: byName.get(container.name)?.address ?? '',
  }));
}

export async function startInstance(
  io: StageIO,
  scope: LocalScope,
  image: ImageRef,
  address: string,
): Promise<Instance> {
  const { env, names } = scope;
  const name = instanceName(names, image.fingerprint);
  io.progress(`starting ${name} (${address})`);
  await docker(io, [
    'run',
    '--detach',
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    names.network,
    '--ip',
    address,
    '--restart',
    'unless-stopped',
    '--stop-timeout',
    String(STOP_TIMEOUT_S),
    ...SYSTEMD_FLAGS,
    ...ownerLabels(env, 'instance'),
    '--label',
    `${LABEL.fingerprint}=${image.fingerprint}`,
    image.id,
  ]);
  return { name, fingerprint: image.fingerprint, imageId: image.id, running: true, address };
}

/** Stops gracefully (systemd stops the service, which drains), then removes. */
export async function stopInstance(io: StageIO, name: string, options: { cleanup?: boolean } = {}): Promise<void> {
  io.progress(`stopping ${name}`);
  await docker(io, ['stop', '--time', String(STOP_TIMEOUT_S), name], { ...options, okExitCodes: [1] });
  await docker(io, ['rm', '--force', name], { ...options, okExitCodes: [1] });
}

/** The service's last journal lines inside an instance, for failure messages. */
export async function journalTail(io: StageIO, name: string, app: string, lines = 20): Promise<string[]> {
  const result = await io.run({
    tool: 'docker',
    args: [
      'exec',
      name,
      'journalctl',
      '--unit',
      `${app}.service`,
      '--lines',
      String(lines),
      '--no-pager',
      '--output',
      'short-iso',
    ],
    quiet: true,
    cleanup: true,
    okExitCodes: [1, 126, 127],
  });
  const text = `${result.stdout}\n${result.stderr}`.trim();
  return text === '' ? ['(no journal lines)'] : text.split('\n').slice(-lines);
}
