// Waiting for HAProxy to mark instances UP, shared by the rollout (new instances) and
// verify (the whole fleet): the local counterpart of waiting for ALB target health.

import { setTimeout as sleep } from 'node:timers/promises';
import type { StageIO } from '../../context.ts';
import { InterruptedError } from '../../errors.ts';
import { describeCheck, isUp, serverStates, type ServerState } from './haproxy.ts';
import { journalTail } from './instances.ts';
import type { LocalScope } from './rollout.ts';

const POLL_MS = 250;

/**
 * Polls until `wanted` of the servers `select` picks are UP, within health.deadline_s.
 * Resolves to undefined when they are, or to how many were UP and the lines that
 * explain why the rest were not: each failing server's last check and the journal of
 * the first one.
 */
export async function waitForUp(
  io: StageIO,
  scope: LocalScope,
  select: (servers: ServerState[]) => ServerState[],
  wanted: number,
  what: string,
): Promise<{ up: number; why: string[] } | undefined> {
  const { env, names } = scope;
  const deadline = Date.now() + env.health.deadline_s * 1000;
  let latest: ServerState[] = [];
  while (Date.now() < deadline) {
    if (io.signal.aborted) throw new InterruptedError(`interrupted while waiting for ${what} to become healthy`);
    latest = select(await serverStates(io, names.lb));
    const up = latest.filter(isUp).length;
    if (up >= wanted) return undefined;
    const failing = latest.find((server) => !isUp(server));
    io.progress(`${up}/${wanted} ${what} UP${failing ? `; ${describeCheck(failing)}` : ''}`);
    await sleep(POLL_MS);
  }
  const down = latest.filter((server) => !isUp(server));
  const first = down[0];
  const journal = first ? await journalTail(io, first.name, env.app) : [];
  return {
    up: latest.length - down.length,
    why: [
      ...down.map(describeCheck),
      ...(first ? [`last journal lines of ${first.name} (${env.app}.service):`, ...journal.map((line) => `  ${line}`)] : []),
    ],
  };
}
