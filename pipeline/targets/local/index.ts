// The local target: Docker containers behind HAProxy on one machine. The analogy with
// aws is deliberate: image ↔ AMI, instance containers ↔ ASG instances, HAProxy ↔ ALB
// and its target group, the Docker network ↔ the VPC.

import { rm } from 'node:fs/promises';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { RunContext, StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { waitForHttpHealthy } from '../../stages/http-health.ts';
import type { DeployTarget } from '../target.ts';
import { docker, inspectFormat, listContainers } from './docker.ts';
import { registerServer, serverStates } from './haproxy.ts';
import { localImageStore } from './images.ts';
import { listInstances } from './instances.ts';
import { ensureLb, persistServers } from './lb.ts';
import { localNames, ownerFilters } from './names.ts';
import { ensureNetwork } from './network.ts';
import { localPreflight } from './preflight.ts';
import { rollout, rolloutSkipReason, type LocalScope } from './rollout.ts';
import { waitForUp } from './wait.ts';

export function createLocalTarget(context: RunContext, env: LocalEnvironment): DeployTarget {
  const names = localNames(env, context.stateDir);
  const scope: LocalScope = { root: context.root, env, names };
  const url = `http://127.0.0.1:${env.local.port}/`;

  return {
    name: 'local',
    packerSource: 'docker.app',
    images: localImageStore(env, names),

    preflight: (io, purpose) => localPreflight(io, env, names, { forDestroy: purpose === 'destroy' }),

    async baseImageIdentity(io) {
      return `${env.local.base_image}@${await inspectFormat(io, 'image', env.local.base_image, '{{.Id}}')}`;
    },

    bakeVariables: () => ({ base_docker_image: env.local.base_image }),

    async provision(io) {
      await ensureNetwork(io, env, names);
      await ensureLb(io, context.root, env, names);
      await registerStrays(io, scope);
      await persistServers(io, context.root, env, names);
    },

    rolloutSkipReason: (io, image) => rolloutSkipReason(io, scope, image),
    rollout: (io, image, strategy) => rollout(io, scope, image, strategy),

    async verify(io) {
      await waitForLbUp(io, scope);
      await waitForHttpHealthy({
        url: new URL(env.service.health_path, url).href,
        healthyThreshold: env.health.healthy_threshold,
        intervalMs: env.health.interval_s * 1000,
        timeoutMs: env.health.timeout_s * 1000 + 1000,
        deadlineMs: env.health.deadline_s * 1000,
        signal: io.signal,
        onAttempt: (attempt) => io.progress(`GET ${env.service.health_path}: ${attempt.result} (${attempt.streak}/${env.health.healthy_threshold})`),
      });
      return url;
    },

    async plan(io, image) {
      const instances = await listInstances(io, env).catch(() => []);
      const target = image ? `image ${image.name ?? image.id}` : 'the image the bake produces';
      return `network ${names.network}, load balancer ${names.lb} on 127.0.0.1:${env.local.port}; ${env.instances.desired} instance(s) on ${target} (now ${instances.length})`;
    },

    async teardown(io) {
      const removed: string[] = [];
      const containers = await listContainers(io, ownerFilters(env), { cleanup: true });
      // Instances first (gracefully), the load balancer last.
      const ordered = [...containers].sort((a, b) => Number(a.name === names.lb) - Number(b.name === names.lb));
      for (const container of ordered) {
        io.progress(`removing ${container.name}`);
        // Fails loudly: a container that cannot be removed is exactly what must not be left.
        await docker(io, ['rm', '--force', '--volumes', container.name], { cleanup: true });
        removed.push(`container ${container.name}`);
      }
      const networks = await docker(io, ['network', 'ls', ...ownerFilters(env), '--format', '{{.Name}}'], { cleanup: true });
      for (const network of networks.split('\n').filter(Boolean)) {
        await docker(io, ['network', 'rm', network], { cleanup: true });
        removed.push(`network ${network}`);
      }
      await rm(names.lbConfigDir, { recursive: true, force: true });
      return { removed };
    },
  };
}

/** Running instances the load balancer does not know (it was replaced or restarted). */
async function registerStrays(io: StageIO, scope: LocalScope): Promise<void> {
  const known = new Set((await serverStates(io, scope.names.lb)).map((server) => server.name));
  for (const instance of await listInstances(io, scope.env)) {
    if (instance.running && !known.has(instance.name) && instance.address) {
      io.progress(`registering ${instance.name} with the load balancer`);
      await registerServer(io, scope.names.lb, scope.env, instance.name, instance.address);
    }
  }
}

/** Waits until the load balancer reports `desired` servers UP (the target health of the ALB). */
async function waitForLbUp(io: StageIO, scope: LocalScope): Promise<void> {
  const { env } = scope;
  const timedOut = await waitForUp(io, scope, (servers) => servers, env.instances.desired, 'instances');
  if (timedOut) throw new DeployError(`only ${timedOut.up} of ${env.instances.desired} instances are UP in the load balancer after ${env.health.deadline_s} s`, timedOut.why);
}
