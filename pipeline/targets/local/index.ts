// The local target: Docker containers behind HAProxy on one machine. The analogy with
// aws is deliberate: image ↔ AMI, instance containers ↔ ASG instances, HAProxy ↔ ALB
// and its target group, the Docker network ↔ the VPC.

import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { RunContext, StageIO } from '../../context.ts';
import { DeployError, InputError } from '../../errors.ts';
import { removeState } from '../../state/files.ts';
import { BAKERY_ROOT } from '../../install.ts';
import type { DeployTarget, Provisioned } from '../target.ts';
import { docker, inspectFormat, listContainers } from './docker.ts';
import { dockerNetworkNames, dockerNetworkRm, dockerRm } from './docker-commands.ts';
import { registerServer, serverStates } from './lb-servers.ts';
import { localImageStore } from './images.ts';
import { listInstances, type Instance } from './instances.ts';
import { ensureLb, persistServers } from './lb-container.ts';
import { backupDatabase, ensureDatabase, removeDatabaseVolume } from './database.ts';
import { credentialsPath, databaseName, loadCredentials } from './database-credentials.ts';
import { localNames, ownerFilters } from './names.ts';
import { ensureNetwork } from './network.ts';
import { localPreflight } from './preflight.ts';
import { runOneOff } from './one-off.ts';
import { planFleet, rollout } from './rollout.ts';
import type { LocalScope } from './scope.ts';
import { settingsDigest, settingsKeyPath } from './settings.ts';
import { localLogs, localStatus } from './status.ts';
import { waitForUp } from './wait.ts';

/** The local target finds nothing in preflight that later steps need. */
type LocalFacts = undefined;

export function createLocalTarget(context: RunContext, env: LocalEnvironment): DeployTarget<LocalFacts, Provisioned> {
  const scope: LocalScope = { root: BAKERY_ROOT, env, names: localNames(env, context.stateDir) };
  const { names } = scope;
  const url = `http://127.0.0.1:${env.local.port}/`;
  const preflightOptions = (forDestroy: boolean) => ({
    forDestroy,
    searchPath: context.processEnv.PATH,
    dockerHost: context.processEnv.DOCKER_HOST,
  });
  const settingsDigestFor = (settings: RuntimeSettings, options: { create: boolean }) =>
    settingsDigest(context.stateDir, settings, options);

  return {
    name: 'local',
    packerSource: 'docker.app',
    images: localImageStore(scope),

    async preflight(io) {
      // Accepted so one deploy.yaml serves both targets; there is no autoscaler here.
      if (env.instances.scale)
        io.info(
          `instances.scale applies to target aws only (a target-tracking policy): this local environment runs instances.desired (${env.instances.desired})`,
        );
      await localPreflight(io, scope, preflightOptions(false));
      return undefined;
    },

    preflightDestroy: (io) => localPreflight(io, scope, preflightOptions(true)),

    async baseImageIdentity(io) {
      return `${env.local.base_image}@${await inspectFormat(io, 'image', env.local.base_image, '{{.Id}}')}`;
    },

    bakeVariables: () => ({ base_docker_image: env.local.base_image }),

    onBaseLayer: (baseLayer) => ({ base_docker_image: baseLayer.id }),

    async provision(io) {
      await ensureNetwork(io, scope);
      const running = (await listInstances(io, scope)).filter((instance) => instance.running && instance.address);
      const repair = await ensureLb(
        io,
        scope,
        running.map((instance) => ({ name: instance.name, address: `${instance.address}:${env.service.port}` })),
      );
      if (repair !== 'unchanged') io.note(`load balancer: ${repair}`);
      await registerStrays(io, scope, running);
      await persistServers(io, scope);
      return { url };
    },

    async plan(io, image, _facts, settings) {
      const instances = await listInstances(io, scope).catch((): Instance[] => []);
      const servers = await serverStates(io, names.lb).catch(() => []);
      const wanted = image ? `image ${image.name ?? image.id}` : 'the image the bake produces';
      const provision = `network ${names.network}, load balancer ${names.lb} on 127.0.0.1:${env.local.port}; ${env.instances.desired} instance(s) on ${wanted} (now ${instances.length})`;
      if (!image)
        return {
          provision,
          rollout: `start ${env.instances.desired} instance(s) on the new image, then drain and stop ${instances.length} old one(s)`,
        };
      const settingsDigest = await settingsDigestFor(settings, { create: false });
      const fleet = planFleet(instances, servers, { image, settingsDigest }, env.instances.desired);
      const needed = env.instances.desired - fleet.keep.length;
      const rolloutText =
        needed === 0 && fleet.retire.length === 0
          ? `nothing to replace: ${fleet.keep.length} instance(s) already run ${image.name ?? image.id}`
          : `start ${needed} instance(s), keep ${fleet.keep.length}, drain and stop ${fleet.retire.length}`;
      return { provision, rollout: rolloutText };
    },

    rollout: async (io, _stack, image, strategy, settings) =>
      rollout(
        io,
        scope,
        { image, settings, settingsDigest: await settingsDigestFor(settings, { create: true }) },
        strategy,
      ),

    runOneOff: (io, image, settings, command) =>
      runOneOff(io, scope, image, settings, command, { env: context.processEnv }),

    async servesAlready(io, image, settings) {
      const instances = await listInstances(io, scope);
      const servers = await serverStates(io, names.lb).catch(() => []);
      const digest = await settingsDigestFor(settings, { create: false });
      const fleet = planFleet(instances, servers, { image, settingsDigest: digest }, env.instances.desired);
      return fleet.keep.length === env.instances.desired && fleet.retire.length === 0;
    },

    async waitForBackends(io, _stack, deadline) {
      const failure = await waitForUp(io, scope, {
        select: (servers) => servers,
        wanted: env.instances.desired,
        what: 'instances',
        deadline,
      });
      if (failure)
        throw new DeployError(
          `only ${failure.up} of ${env.instances.desired} instances are UP in the load balancer after ${env.health.deadline_s} s`,
          failure.why,
        );
    },

    async explainUnhealthy(io) {
      const failure = await waitForUp(io, scope, {
        select: (servers) => servers,
        wanted: env.instances.desired,
        what: 'instances',
        deadline: 0,
      });
      return failure?.why ?? [];
    },

    async ensureDatabase(io) {
      if (!env.database) return undefined;
      const credentials = await loadCredentials(context.stateDir, env.app, { create: true });
      if (!credentials) return undefined;
      await ensureNetwork(io, scope);
      const did = await ensureDatabase(io, scope, credentials);
      return did === 'unchanged'
        ? undefined
        : `database ${names.database}: ${did} (data in volume ${names.databaseVolume})`;
    },

    async backupDatabase(io) {
      // The database's name from its credentials; the default when they are gone.
      const credentials = await loadCredentials(context.stateDir, env.app, { create: false });
      return backupDatabase(io, scope, context.stateDir, credentials?.database ?? databaseName(env.app), new Date());
    },

    status: (io, record) => localStatus(io, scope, record),

    async logs(io, query, write) {
      const found = await localLogs(io, scope, query, write);
      if (found.length === 0)
        throw new InputError(
          query.instance
            ? `--instance ${JSON.stringify(query.instance)}: no such instance of ${env.app}/${env.name}`
            : `${env.app}/${env.name} has no instances`,
          ['see the instances with: ./status.ts ' + env.name],
        );
    },

    async teardown(io) {
      const removed: string[] = [];
      const containers = await listContainers(io, ownerFilters(env), { cleanup: true });
      // Instances first (gracefully), the load balancer last.
      const ordered = [...containers].sort((a, b) => Number(a.name === names.lb) - Number(b.name === names.lb));
      for (const container of ordered) {
        io.progress(`removing ${container.name}`);
        // Fails loudly: a container that cannot be removed is exactly what must not be left.
        await docker(io, dockerRm(container.name, { volumes: true }), { cleanup: true });
        removed.push(`container ${container.name}`);
      }
      const networks = await docker(io, dockerNetworkNames(ownerFilters(env)), { cleanup: true });
      for (const network of networks.split('\n').filter(Boolean)) {
        await docker(io, dockerNetworkRm(network), { cleanup: true });
        removed.push(`network ${network}`);
      }
      // The destroy stages took the final backup before this (backupDatabase).
      const volume = await removeDatabaseVolume(io, scope);
      if (volume) removed.push(volume);
      await removeState(credentialsPath(context.stateDir), 'the database credentials');
      await removeState(names.lbConfigDir, 'the load balancer configuration');
      await removeState(settingsKeyPath(context.stateDir), 'the settings key');
      return { removed };
    },
  };
}

/** Running instances the load balancer does not know (a load balancer created before they were listed). */
async function registerStrays(io: StageIO, scope: LocalScope, running: Instance[]): Promise<void> {
  const known = new Set((await serverStates(io, scope.names.lb)).map((server) => server.name));
  for (const instance of running) {
    if (known.has(instance.name)) continue;
    io.progress(`registering ${instance.name} with the load balancer`);
    await registerServer(io, scope.names.lb, scope.env, instance.name, instance.address);
  }
}
