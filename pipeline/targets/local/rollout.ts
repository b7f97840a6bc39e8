// Rolling replacement on the local target, the way an instance refresh with
// launch-before-terminate and a checkpoint works: start the canary, let it take its
// share of real traffic and judge it (canary.ts), then start the rest, wait until the
// load balancer has seen them pass their health checks, then drain, stop and remove the
// old ones. The healthy count never drops below `desired`. If the canary fails or the
// new instances never become healthy, they are removed and the old ones keep serving.

import type { RolloutStrategy, StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { pollUntil } from '../../process/poll.ts';
import type { RolloutResult } from '../target.ts';
import { drainServer, isUp, registerServer, removeServer, serverStates, type ServerState } from './lb-servers.ts';
import { journalTail, listInstances, startInstance, stopInstance, type Instance, type Launch } from './instances.ts';
import { persistServers } from './lb-container.ts';
import type { LocalScope } from './scope.ts';
import { networkBase, pickAddress, takenAddresses } from './network.ts';
import { bakeCanary } from './canary.ts';
import { waitForUp } from './wait.ts';

/** Faster than HAProxy's fastest check: a drained server is seen idle as soon as it is. */
const POLL_MS = 80;
/** How long an old instance may take to finish its requests after being drained. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface Fleet {
  /** Running, on the wanted image with the wanted settings and UP: kept as they are (at most desired). */
  keep: Instance[];
  /** Everything else: older images or settings, stopped containers, surplus beyond desired. */
  retire: Instance[];
}

/**
 * Decides by image id, not fingerprint (a --rebake gives the same fingerprint a new
 * image), and by the settings digest: changed env or secrets replace every instance,
 * with no bake.
 */
export function planFleet(
  instances: Instance[],
  servers: ServerState[],
  wanted: Pick<Launch, 'image' | 'settingsDigest'>,
  desired: number,
): Fleet {
  const up = new Set(servers.filter(isUp).map((server) => server.name));
  const healthy = instances.filter(
    (instance) =>
      instance.imageId === wanted.image.id &&
      instance.settings === wanted.settingsDigest &&
      instance.running &&
      up.has(instance.name),
  );
  const keep = healthy.slice(0, desired);
  const kept = new Set(keep.map((instance) => instance.name));
  return { keep, retire: instances.filter((instance) => !kept.has(instance.name)) };
}

/**
 * A server whose health is still being decided: HAProxy just (re)started and has not
 * checked it yet (check status INI), or it is between states ("UP 1/2", "DOWN 1/2").
 */
export function isUnsettled(server: ServerState): boolean {
  return server.checkStatus === 'INI' || /^(UP|DOWN) \d+\/\d+$/.test(server.status);
}

/**
 * The load balancer's servers once their health is decided. Right after the LB was
 * repaired (restarted, recreated with its saved servers) every server starts unchecked:
 * planning then would take healthy instances for failed ones and replace them. Waits at
 * most as long as the checks need to bring a server up or down (rise or fall checks).
 */
async function settledServerStates(io: StageIO, scope: LocalScope): Promise<ServerState[]> {
  const { health } = scope.env;
  const checks = Math.max(health.healthy_threshold, health.unhealthy_threshold) + 1;
  const result = await pollUntil(io, {
    what: 'the load balancer to check its servers',
    deadlineMs: checks * health.interval_s * 1000 + 2000,
    intervalMs: POLL_MS,
    attempt: async () => {
      const servers = await serverStates(io, scope.names.lb);
      const unsettled = servers.filter(isUnsettled);
      return unsettled.length === 0
        ? { done: true, value: servers }
        : { done: false, status: `waiting for the first health checks of ${unsettled.map((s) => s.name).join(', ')}` };
    },
    onStatus: (status) => io.progress(status),
  });
  // Undecided at the deadline: plan with what the load balancer says now.
  return result.done ? result.value : serverStates(io, scope.names.lb);
}

/** Replaces what the plan retires; skips when every wanted instance already runs the image and is UP. */
export async function rollout(
  io: StageIO,
  scope: LocalScope,
  launch: Launch,
  strategy: RolloutStrategy,
): Promise<RolloutResult> {
  const { image } = launch;
  const { env } = scope;
  const instances = await listInstances(io, scope);
  const servers = await settledServerStates(io, scope);
  const fleet = planFleet(instances, servers, launch, env.instances.desired);
  const needed = env.instances.desired - fleet.keep.length;
  const kept = fleet.keep.map((instance) => instance.name);
  if (needed === 0 && fleet.retire.length === 0)
    return {
      skipped: `${kept.length} instance(s) already run ${image.name ?? image.id} with these settings and are UP`,
    };
  io.note(
    `rollout (${strategy}): keep ${kept.join(', ') || 'none'}; start ${needed}; retire ${fleet.retire.map((i) => i.name).join(', ') || 'none'}`,
  );

  const started: Instance[] = [];
  const before = { instances, servers };
  try {
    // The naive way, kept for comparison: everything old goes first, so requests fail.
    if (strategy === 'recreate') {
      for (const instance of fleet.retire) await retire(io, scope, instance, { drain: false });
    }
    const canary = strategy === 'rolling' ? canarySize(scope, fleet, servers, needed) : 0;
    if (canary > 0) {
      started.push(...(await launchHealthy(io, scope, launch, canary, before)));
      await passCanary(io, scope, started, fleet, before);
    }
    if (needed > canary) started.push(...(await launchHealthy(io, scope, launch, needed - canary, before)));
    // Every new instance is UP: the old ones drain and stop side by side, not one after another.
    if (strategy === 'rolling') await retireAll(io, scope, fleet.retire);
  } finally {
    await bestEffort(io, 'could not record the registered instances for a load balancer restart', () =>
      persistServers(io, scope, { cleanup: true }),
    );
  }
  return {
    started: started.map((instance) => instance.name),
    kept,
    retired: fleet.retire.map((instance) => instance.name),
  };
}

/**
 * How many instances go first as the canary: rollout.canary.instances, at most what is
 * needed, and none when no old instance serves next to it (a first deploy, or a fleet
 * that is down: there is no traffic to share and nothing to compare with).
 */
function canarySize(scope: LocalScope, fleet: Fleet, servers: ServerState[], needed: number): number {
  const up = new Set(servers.filter(isUp).map((server) => server.name));
  const serving = fleet.retire.filter((instance) => instance.running && up.has(instance.name));
  if (serving.length === 0) return 0;
  return Math.min(scope.env.rollout.canary.instances, needed);
}

/** Judges the canary on live traffic; a failed one is removed and the old fleet keeps serving. */
async function passCanary(
  io: StageIO,
  scope: LocalScope,
  canary: Instance[],
  fleet: Fleet,
  before: { instances: Instance[] },
): Promise<void> {
  const verdict = await bakeCanary(
    io,
    scope,
    canary.map((instance) => instance.name),
    fleet.retire.filter((instance) => instance.running).map((instance) => instance.name),
    scope.env.rollout,
  );
  io.info(`canary ${verdict.ok ? 'passed' : 'failed'}: ${verdict.summary}`);
  if (verdict.ok) return;
  const journal = canary[0] ? await journalTail(io, canary[0].name, scope.env.app, 10) : [];
  const existing = new Set(before.instances.map((instance) => instance.name));
  await bestEffort(io, 'could not remove the canary: run ./destroy.ts if one is left', () =>
    removeNewInstances(io, scope, existing, { drain: true }),
  );
  throw new DeployError(`the canary failed${verdict.early ? ' before its window ended' : ''}: ${verdict.summary}`, [
    `the canary (${canary.map((instance) => instance.name).join(', ')}) was drained and removed; the old fleet keeps serving and nothing else changed`,
    `fix the release and deploy again; the limits are rollout.max_error_rate (${scope.env.rollout.max_error_rate})${scope.env.rollout.max_p99_ms ? ` and rollout.max_p99_ms (${scope.env.rollout.max_p99_ms})` : ''}`,
    ...(journal.length > 0 ? [`last journal lines of ${canary[0]?.name}:`, ...journal.map((line) => `  ${line}`)] : []),
  ]);
}

/** Runs cleanup work whose failure must not hide the error that made it necessary. */
async function bestEffort(io: StageIO, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    io.warn(what, [error instanceof Error ? error.message : String(error)]);
  }
}

/**
 * Starts `count` instances and waits until all are UP; on any failure removes every
 * instance that `before` did not have.
 */
async function launchHealthy(
  io: StageIO,
  scope: LocalScope,
  launch: Launch,
  count: number,
  before: { instances: Instance[]; servers: ServerState[] },
): Promise<Instance[]> {
  const { env, names } = scope;
  const started: Instance[] = [];
  try {
    const base = await networkBase(io, names);
    // Stopped instances keep their fixed address and may still be registered: skip those too.
    const taken = await takenAddresses(io, names);
    for (const instance of before.instances) if (instance.address) taken.add(instance.address);
    for (const server of before.servers) taken.add(server.address.replace(/:\d+$/, ''));
    let lastStartedAt = Date.now();
    for (let index = 0; index < count; index++) {
      const address = pickAddress(base, taken);
      taken.add(address);
      const instance = await startInstance(io, scope, launch, address);
      lastStartedAt = Date.now();
      started.push(instance);
      await registerServer(io, names.lb, env, instance.name, address);
    }
    await waitUntilUp(io, scope, started);
    // The number a faster health check is for; the benchmark reads it from the stage log.
    io.info(
      `${started.map((instance) => instance.name).join(', ')} UP in HAProxy ${((Date.now() - lastStartedAt) / 1000).toFixed(2)} s after ${count > 1 ? 'the last' : 'its'} container started`,
    );
    return started;
  } catch (error) {
    const existing = new Set(before.instances.map((instance) => instance.name));
    await bestEffort(io, 'could not remove every new instance: run ./destroy.ts if one is left', () =>
      removeNewInstances(io, scope, existing),
    );
    throw error;
  }
}

async function waitUntilUp(io: StageIO, scope: LocalScope, instances: Instance[]): Promise<void> {
  const wanted = new Set(instances.map((instance) => instance.name));
  const failure = await waitForUp(io, scope, {
    select: (servers) => servers.filter((server) => wanted.has(server.name)),
    wanted: wanted.size,
    what: 'new instance(s)',
    deadline: Date.now() + scope.env.health.deadline_s * 1000,
    watch: [...wanted],
  });
  if (!failure) return;
  const previous = (await listInstances(io, scope, { cleanup: true })).filter(
    (instance) => !wanted.has(instance.name) && instance.running,
  ).length;
  const when = failure.failedFor
    ? 'failed for good'
    : `did not become healthy within ${scope.env.health.deadline_s} s (health.deadline_s)`;
  throw new DeployError(
    `the new image ${when}; it was removed${previous > 0 ? ` and the ${previous} previous instance(s) keep serving` : ', and no previous instance is left to serve'}`,
    failure.why,
  );
}

/** Removes every instance that was not there before this rollout (even half-started ones); drained first when asked (a canary that served). */
async function removeNewInstances(
  io: StageIO,
  scope: LocalScope,
  existing: Set<string>,
  options: { drain?: boolean } = {},
): Promise<void> {
  const now = await listInstances(io, scope, { cleanup: true });
  for (const instance of now.filter((i) => !existing.has(i.name))) {
    if (options.drain) {
      await drainServer(io, scope.names.lb, instance.name, { cleanup: true }).catch(() => {});
      await waitUntilIdle(io, scope.names.lb, instance.name).catch(() => {});
    }
    await removeServer(io, scope.names.lb, instance.name, { cleanup: true }).catch(() => {});
    await stopInstance(io, instance.name, { cleanup: true });
  }
}

/** Retires instances at the same time; the first failure is rethrown once all have ended. */
async function retireAll(io: StageIO, scope: LocalScope, instances: Instance[]): Promise<void> {
  const outcomes = await Promise.allSettled(instances.map((instance) => retire(io, scope, instance, { drain: true })));
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Drains (rolling) or not (recreate), deregisters, stops gracefully and removes one instance. */
async function retire(io: StageIO, scope: LocalScope, instance: Instance, options: { drain: boolean }): Promise<void> {
  const { names } = scope;
  const registered = (await serverStates(io, names.lb)).some((server) => server.name === instance.name);
  if (registered && options.drain) {
    io.progress(`draining ${instance.name}`);
    await drainServer(io, names.lb, instance.name);
    await waitUntilIdle(io, names.lb, instance.name);
  }
  if (registered) await removeServer(io, names.lb, instance.name);
  await stopInstance(io, instance.name);
}

async function waitUntilIdle(io: StageIO, lb: string, name: string): Promise<void> {
  const idle = await pollUntil(io, {
    what: `${name} to finish its requests`,
    deadlineMs: DRAIN_TIMEOUT_MS,
    intervalMs: POLL_MS,
    onStatus: (status) => io.progress(status),
    attempt: async () => {
      const server = (await serverStates(io, lb)).find((s) => s.name === name);
      if (!server || server.currentSessions === 0) return { done: true, value: undefined };
      return { done: false, status: `waiting for ${server.currentSessions} request(s) on ${name} to finish` };
    },
  });
  if (idle.done) return;
  io.warn(
    `${name} still had requests after ${DRAIN_TIMEOUT_MS / 1000} s of draining; stopping it anyway (the service finishes what it can on SIGTERM)`,
  );
}
