// Self-healing: under steady load, SIGKILL the service in one instance and time how
// long until HAProxy reports that instance UP again, counting failed requests meanwhile.
// systemd restarts the unit (Restart=on-failure); HAProxy marks the server down after
// `fall` failed checks and up again after `rise` passing ones.

import { setTimeout as sleep } from 'node:timers/promises';
import { round } from './child-time.ts';
import { instanceNames, killService, lbServers, servicePid } from './fleet.ts';
import type { SelfHealMeasurement } from './results.ts';
import { underLoad, type LoadSettings } from './traffic.ts';

export interface SelfHealOptions {
  app: string;
  url: string;
  load: LoadSettings;
  /** Give up waiting after this long. */
  timeoutMs: number;
  /** Load before the kill and after the recovery, so both edges are covered. */
  marginMs: number;
  /**
   * If HAProxy never saw a failed check, the instance counts as healed once it has run
   * the new process this long with its status still UP (more than `fall` check intervals).
   */
  unnoticedAfterMs: number;
}

export const DEFAULT_SELF_HEAL: Omit<SelfHealOptions, 'app' | 'url' | 'load'> = {
  timeoutMs: 30_000,
  marginMs: 1000,
  unnoticedAfterMs: 3000,
};

interface Observation {
  atS: number;
  pid: string;
  status: string;
  check: string;
}

export async function measureSelfHeal(options: SelfHealOptions): Promise<SelfHealMeasurement> {
  const { app } = options;
  const [instance] = await instanceNames(app);
  if (!instance) throw new Error(`no running instance of ${app} to kill`);
  const pidBefore = await servicePid(instance, app);

  const { value, load } = await underLoad(options.url, options.load, async () => {
    await sleep(options.marginMs);
    const result = await killAndWatch(instance, pidBefore, options);
    await sleep(options.marginMs);
    return result;
  });
  return { instance, ...value, load };
}

type Watch = Omit<SelfHealMeasurement, 'instance' | 'load'>;

/** Kills the service, then observes PID and HAProxy status until the instance is UP again. */
async function killAndWatch(instance: string, pidBefore: string, options: SelfHealOptions): Promise<Watch> {
  const { app } = options;
  // Timed from before the kill command starts: docker exec's own start-up counts against us.
  const killedAt = performance.now();
  const secondsSinceKill = (): number => round((performance.now() - killedAt) / 1000);
  await killService(instance, app);

  const timeline: Observation[] = [];
  const watch: Watch = { healed: false, pollIntervalMs: 0, timeline };
  let polls = 0;
  while (performance.now() - killedAt < options.timeoutMs) {
    const [pid, servers] = await Promise.all([
      servicePid(instance, app).catch(() => '?'),
      lbServers(app).catch(() => []),
    ]);
    polls++;
    const server = servers.find((candidate) => candidate.name === instance);
    const now: Observation = {
      atS: secondsSinceKill(),
      pid,
      status: server?.status ?? 'not registered',
      check: server?.checkStatus ?? '',
    };
    const last = timeline.at(-1);
    if (!last || last.pid !== now.pid || last.status !== now.status) timeline.push(now);

    const restarted = pid !== '0' && pid !== '?' && pid !== pidBefore;
    if (restarted) watch.serviceRestartedS ??= now.atS;
    if (now.status !== 'UP') watch.lbNoticedS ??= now.atS;
    if (restarted && now.status === 'UP') {
      if (watch.lbNoticedS !== undefined) {
        watch.upAgainS = now.atS;
        watch.healed = true;
        break;
      }
      // HAProxy never saw a failed check: the restart was faster than `fall` checks.
      if (
        watch.serviceRestartedS !== undefined &&
        (now.atS - watch.serviceRestartedS) * 1000 >= options.unnoticedAfterMs
      ) {
        watch.upAgainS = watch.serviceRestartedS;
        watch.healed = true;
        break;
      }
    }
  }
  watch.pollIntervalMs = polls > 0 ? Math.round((performance.now() - killedAt) / polls) : 0;
  if (!watch.healed) watch.error = `${instance} was not UP again within ${options.timeoutMs / 1000} s`;
  return watch;
}
