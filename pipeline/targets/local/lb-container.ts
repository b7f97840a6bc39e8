// The load balancer container: built once per base image from docker/haproxy/, then
// run with the environment's generated configuration, published on 127.0.0.1 only.
//
// Repairs never cost an outage of their own. The configuration file always lists the
// running instances (below the backend), so HAProxy, whether started again, restarted
// by Docker or reloaded, comes back with the servers it had, UP until a check says
// otherwise. A settings change reloads HAProxy in place (master-worker, SIGUSR2: the
// new worker takes over the socket, the old one finishes its requests); the container
// is replaced only when its image or published port changes.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { writeStateFileInPlace } from '../../state/files.ts';
import { pollUntil } from '../../process/poll.ts';
import { docker, exists, inspectFormat } from './docker.ts';
import { dockerBuild, dockerExec, dockerKill, dockerRm, dockerRun, dockerStart } from './docker-commands.ts';
import { BACKEND, hashText, renderHaproxyConfig, serverStates } from './lb-servers.ts';
import { LABEL, ownerLabels } from './names.ts';
import type { LocalScope } from './scope.ts';

/** Separates the rendered settings from the registered servers in the written file. */
const SERVERS_MARKER = '    # Registered instances, for a restart of this container (see persistServers).';

export interface LbServer {
  name: string;
  /** address:port */
  address: string;
}

export type LbRepair = 'unchanged' | 'created' | 'started' | 'reloaded' | 'replaced';

/** The LB image tag: a hash of its Dockerfile and base image, so a change rebuilds it. */
export async function lbImageTag(root: string, baseImage: string): Promise<string> {
  const dockerfile = await readFile(join(root, 'docker', 'haproxy', 'Dockerfile'), 'utf8');
  return `bakery/haproxy:${hashText(`${baseImage}\n${dockerfile}`)}`;
}

export async function ensureLbImage(io: StageIO, scope: LocalScope): Promise<string> {
  const { root, env } = scope;
  const tag = await lbImageTag(root, env.local.base_image);
  if (await exists(io, 'image', tag)) return tag;
  io.progress(`building the load balancer image ${tag}`);
  await io.run({
    ...dockerBuild({ tag, context: join(root, 'docker', 'haproxy'), buildArgs: { BASE_IMAGE: env.local.base_image } }),
    env: { DOCKER_BUILDKIT: '0' },
  });
  return tag;
}

/**
 * Brings the LB to its wanted settings with `servers` (the running instances)
 * registered, doing the least that gets there; says what it did.
 */
export async function ensureLb(io: StageIO, scope: LocalScope, servers: LbServer[]): Promise<LbRepair> {
  const { env, names } = scope;
  const image = await ensureLbImage(io, scope);
  const settings = await renderHaproxyConfig(scope.root, env);
  // What the container itself is made from; settings alone are reloaded, not replaced.
  const containerHash = hashText(`${image}\n${env.local.port}`);

  if (await exists(io, 'container', names.lb)) {
    const [hash, running] = (
      await inspectFormat(
        io,
        'container',
        names.lb,
        `{{index .Config.Labels "${LABEL.configHash}"}} {{.State.Running}}`,
      )
    ).split(' ');
    if (hash === containerHash) {
      const changed = (await writtenSettings(scope)) !== settings;
      if (running === 'true' && !changed) return 'unchanged';
      await writeConfig(scope, settings, servers);
      if (running === 'true') {
        io.info(`load balancer settings changed: reloading ${names.lb} in place (no request is dropped)`);
        await docker(io, dockerKill(names.lb, 'USR2'));
        await waitForRuntimeApi(io, names.lb);
        return 'reloaded';
      }
      io.warn(`load balancer ${names.lb} was not running: starting it again with its ${servers.length} server(s)`);
      await docker(io, dockerStart(names.lb));
      await waitForRuntimeApi(io, names.lb);
      return 'started';
    }
    io.warn(`load balancer image or port changed: replacing ${names.lb} (requests in flight may fail)`);
    await docker(io, dockerRm(names.lb));
    await startLb(io, scope, image, containerHash, settings, servers);
    return 'replaced';
  }
  if (servers.length > 0)
    io.warn(`load balancer ${names.lb} was missing: creating it with the ${servers.length} running instance(s)`);
  await startLb(io, scope, image, containerHash, settings, servers);
  return 'created';
}

async function startLb(
  io: StageIO,
  scope: LocalScope,
  image: string,
  containerHash: string,
  settings: string,
  servers: LbServer[],
): Promise<void> {
  const { env, names } = scope;
  await writeConfig(scope, settings, servers);
  io.progress(`starting load balancer ${names.lb} on 127.0.0.1:${env.local.port}`);
  await docker(
    io,
    dockerRun({
      name: names.lb,
      network: names.network,
      // Loopback only: the local target is never reachable from other machines.
      publish: [`127.0.0.1:${env.local.port}:80`],
      restart: 'unless-stopped',
      volumes: [`${lbConfigPath(scope)}:/usr/local/etc/haproxy/haproxy.cfg:ro`],
      labels: { ...ownerLabels(env, 'lb'), [LABEL.configHash]: containerHash },
      image,
    }),
  );
  await waitForRuntimeApi(io, names.lb);
}

async function waitForRuntimeApi(io: StageIO, lb: string): Promise<void> {
  const ready = await pollUntil(io, {
    what: `the runtime API of ${lb}`,
    deadlineMs: 5000,
    intervalMs: 100,
    attempt: async () => {
      const result = await io.run({
        ...dockerExec(lb, ['test', '-S', '/run/haproxy/admin.sock']),
        quiet: true,
        okExitCodes: [1],
      });
      return result.exitCode === 0 ? { done: true, value: true } : { done: false, status: 'socket not open yet' };
    },
  });
  if (!ready.done)
    throw new DeployError(`load balancer ${lb} did not open its runtime API socket within 5 s`, [
      `see: docker logs ${lb}`,
    ]);
}

function lbConfigPath(scope: LocalScope): string {
  return join(scope.names.lbConfigDir, 'haproxy.cfg');
}

/** The settings part of the written configuration, or undefined when there is none. */
async function writtenSettings(scope: LocalScope): Promise<string | undefined> {
  try {
    const text = await readFile(lbConfigPath(scope), 'utf8');
    const at = text.indexOf(`\n${SERVERS_MARKER}`);
    return at === -1 ? text : text.slice(0, at);
  } catch {
    return undefined;
  }
}

/**
 * Writes settings and servers. In place, not by rename: a single-file bind mount keeps
 * pointing at the old inode after a rename.
 */
async function writeConfig(scope: LocalScope, settings: string, servers: LbServer[]): Promise<void> {
  const lines = servers.map((server) => `    server ${server.name} ${server.address}`);
  await writeStateFileInPlace(
    lbConfigPath(scope),
    `${settings}\n${SERVERS_MARKER}\n${lines.join('\n')}\n`,
    'the load balancer configuration',
  );
}

/**
 * Writes the registered instances into the mounted configuration (no reload), so a
 * load balancer that Docker restarts comes back with its servers instead of none.
 * Registration itself always goes through the runtime API.
 */
export async function persistServers(
  io: StageIO,
  scope: LocalScope,
  options: { cleanup?: boolean } = {},
): Promise<void> {
  const servers = (await serverStates(io, scope.names.lb, options)).filter(
    (server) => !['MAINT', 'DRAIN'].includes(server.status),
  );
  await writeConfig(scope, await renderHaproxyConfig(scope.root, scope.env), servers);
  io.note(`${BACKEND}: ${servers.length} server(s) written to ${lbConfigPath(scope)}`);
}
