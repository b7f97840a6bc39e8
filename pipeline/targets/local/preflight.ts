// Preflight of the local target: the Docker engine answers, the tools are there, the
// base image is present, and the published port is free (or already ours).

import { createServer } from 'node:net';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { InputError, PreflightError } from '../../errors.ts';
import { findExecutable } from '../../process/which.ts';
import { docker, exists } from './docker.ts';
import type { LocalScope } from './scope.ts';
import { dockerPs, dockerPull, dockerVersion } from './docker-commands.ts';

/** What to check when the engine does not answer: the socket DOCKER_HOST names, else the default one. */
export function dockerReachabilityHint(dockerHost: string | undefined): string {
  const host = dockerHost?.trim();
  if (!host) {
    return 'start it (sudo systemctl start docker, or: sudo dockerd &) and check that this user may use /var/run/docker.sock';
  }
  if (host.startsWith('unix://')) {
    return `DOCKER_HOST=${host}: start the engine that listens there and check that this user may use ${host.slice('unix://'.length)} (unset DOCKER_HOST for the default /var/run/docker.sock)`;
  }
  return `DOCKER_HOST=${host}: check that the engine there is running and reachable from here (unset DOCKER_HOST for the local engine on /var/run/docker.sock)`;
}

async function checkDocker(io: StageIO, dockerHost: string | undefined): Promise<void> {
  const result = await io.run({
    ...dockerVersion(),
    quiet: true,
    okExitCodes: [1],
  });
  if (result.exitCode !== 0) {
    throw new PreflightError('the Docker engine is not reachable', [
      result.stderr.trim().split('\n')[0] ?? '',
      dockerReachabilityHint(dockerHost),
    ]);
  }
}

function checkTools(names: string[], searchPath: string | undefined): void {
  const missing = names.filter((name) => !findExecutable(name, searchPath));
  if (missing.length > 0) {
    throw new PreflightError(`${missing.join(', ')} not found on PATH`, [
      'install them with: bash scripts/setup.sh (Debian packages), or run inside the tooling container (--container always)',
    ]);
  }
}

export async function ensureBaseImage(io: StageIO, env: LocalEnvironment): Promise<void> {
  if (await exists(io, 'image', env.local.base_image)) return;
  io.progress(`pulling base image ${env.local.base_image}`);
  const pulled = await io.run({ ...dockerPull(env.local.base_image), okExitCodes: [1] });
  if (pulled.exitCode !== 0) {
    throw new PreflightError(
      `base image ${env.local.base_image} (local.base_image) is not present and could not be pulled`,
      [
        'where no registry is reachable, import a Debian 12 root file system under that name: bash scripts/base-image.sh ' +
          env.local.base_image,
      ],
    );
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Who listens on the port, in ss's words, for the error message. */
async function portHolder(io: StageIO, port: number): Promise<string> {
  const result = await io
    .run({ tool: 'ss', args: ['-Hltnp', `sport = :${port}`], quiet: true, okExitCodes: [1, 255] })
    .catch(() => undefined);
  const users = /users:\(\((.*?)\)\)/.exec(result?.stdout ?? '')?.[1];
  return users ? `held by ${users.replace(/"/g, '')}` : 'held by another process';
}

async function checkPort(io: StageIO, scope: LocalScope): Promise<void> {
  const { env, names } = scope;
  const port = env.local.port;
  if (await isPortFree(port)) return;
  // Our own load balancer holding it is the normal case on a redeploy.
  const ours = await docker(io, dockerPs({ filters: [`name=^${names.lb}$`], format: '{{.Ports}}' }));
  if (ours.includes(`127.0.0.1:${port}->`)) return;
  // Bad input rather than an unready machine: the port was the user's choice.
  throw new InputError(
    `environments.${env.name}.local.port: 127.0.0.1:${port} is already in use (${await portHolder(io, port)})`,
    ['choose another local.port in deploy.yaml, or stop what holds it'],
  );
}

/** `searchPath` is the run's PATH, where the tools are looked up; `dockerHost` its DOCKER_HOST. */
export async function localPreflight(
  io: StageIO,
  scope: LocalScope,
  options: { forDestroy: boolean; searchPath: string | undefined; dockerHost?: string | undefined },
): Promise<void> {
  await checkDocker(io, options.dockerHost);
  if (options.forDestroy) return;
  checkTools(['packer', 'ansible-playbook'], options.searchPath);
  await checkPort(io, scope);
  await ensureBaseImage(io, scope.env);
}
