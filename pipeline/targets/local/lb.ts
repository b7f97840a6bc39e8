// The load balancer container: built once per base image from docker/haproxy/, then
// run with the environment's generated configuration, published on 127.0.0.1 only.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { docker, exists, inspectFormat } from './docker.ts';
import { BACKEND, hashText, renderHaproxyConfig, serverStates } from './haproxy.ts';
import { LABEL, ownerLabels, type LocalNames } from './names.ts';

/** The LB image tag: a hash of its Dockerfile and base image, so a change rebuilds it. */
export async function lbImageTag(root: string, baseImage: string): Promise<string> {
  const dockerfile = await readFile(join(root, 'docker', 'haproxy', 'Dockerfile'), 'utf8');
  return `bakery/haproxy:${hashText(`${baseImage}\n${dockerfile}`)}`;
}

export async function ensureLbImage(io: StageIO, root: string, env: LocalEnvironment): Promise<string> {
  const tag = await lbImageTag(root, env.local.base_image);
  if (await exists(io, 'image', tag)) return tag;
  io.progress(`building the load balancer image ${tag}`);
  await io.run({
    tool: 'docker',
    args: ['build', '--build-arg', `BASE_IMAGE=${env.local.base_image}`, '-t', tag, join(root, 'docker', 'haproxy')],
    env: { DOCKER_BUILDKIT: '0' },
  });
  return tag;
}

export interface LbState {
  /** True when the container was (re)created: it knows no servers yet. */
  fresh: boolean;
}

/** Creates the LB container, or replaces it when its configuration changed. */
export async function ensureLb(io: StageIO, root: string, env: LocalEnvironment, names: LocalNames): Promise<LbState> {
  const image = await ensureLbImage(io, root, env);
  const config = await renderHaproxyConfig(root, env);
  const configHash = hashText(`${image}\n${config}`);
  await mkdir(names.lbConfigDir, { recursive: true });
  const configPath = lbConfigPath(names);

  if (await exists(io, 'container', names.lb)) {
    const current = await inspectFormat(io, 'container', names.lb, `{{index .Config.Labels "${LABEL.configHash}"}} {{.State.Running}}`);
    const [hash, running] = current.split(' ');
    if (hash === configHash && running === 'true') return { fresh: false };
    io.warn(
      hash === configHash ? `load balancer ${names.lb} was not running: starting it again` : `load balancer settings changed: replacing ${names.lb} (requests in flight may fail)`,
    );
    await docker(io, ['rm', '-f', names.lb]);
  }
  await writeFile(configPath, config, { mode: 0o644 });
  io.progress(`starting load balancer ${names.lb} on 127.0.0.1:${env.local.port}`);
  await docker(io, [
    'run', '--detach',
    '--name', names.lb,
    '--network', names.network,
    '--publish', `127.0.0.1:${env.local.port}:80`,
    '--restart', 'unless-stopped',
    '--volume', `${configPath}:/usr/local/etc/haproxy/haproxy.cfg:ro`,
    ...ownerLabels(env, 'lb'),
    '--label', `${LABEL.configHash}=${configHash}`,
    image,
  ]);
  await waitForRuntimeApi(io, names.lb);
  return { fresh: true };
}

async function waitForRuntimeApi(io: StageIO, lb: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = await io.run({ tool: 'docker', args: ['exec', lb, 'test', '-S', '/run/haproxy/admin.sock'], quiet: true, okExitCodes: [1] });
    if (result.exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new DeployError(`load balancer ${lb} did not open its runtime API socket within 5 s`, [`see: docker logs ${lb}`]);
}

function lbConfigPath(names: LocalNames): string {
  return join(names.lbConfigDir, 'haproxy.cfg');
}

/**
 * Writes the registered instances into the mounted configuration (no reload), so a
 * load balancer that Docker restarts comes back with its servers instead of none.
 * Registration itself always goes through the runtime API. The file is rewritten in
 * place: a single-file bind mount keeps pointing at the old inode after a rename.
 */
export async function persistServers(io: StageIO, root: string, env: LocalEnvironment, names: LocalNames, options: { cleanup?: boolean } = {}): Promise<void> {
  const servers = (await serverStates(io, names.lb, options)).filter((server) => !['MAINT', 'DRAIN'].includes(server.status));
  const lines = servers.map((server) => `    server ${server.name} ${server.address}`);
  const config = `${await renderHaproxyConfig(root, env)}\n    # Registered instances, for a restart of this container (see persistServers).\n${lines.join('\n')}\n`;
  await writeFile(lbConfigPath(names), config, { mode: 0o644 });
  io.note(`${BACKEND}: ${servers.length} server(s) written to ${lbConfigPath(names)}`);
}
