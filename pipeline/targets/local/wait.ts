// Waiting for HAProxy to mark instances UP, shared by the rollout (new instances) and
// verify (the whole fleet): the local counterpart of waiting for ALB target health.
// It gives up early when an instance has failed for good (its container exited, or
// systemd gave up on the unit after its start limit): waiting longer cannot help.

import type { StageIO } from '../../context.ts';
import { pollUntil } from '../../process/poll.ts';
import { describeCheck, isUp, serverStates, type ServerState } from './lb-servers.ts';
import { journalTail } from './instances.ts';
import type { LocalScope } from './scope.ts';
import { dockerExec, dockerInspect } from './docker-commands.ts';

/**
 * Faster than HAProxy's fastest check (100 ms): a server that turns UP is seen within
 * one look, not at the runner's next tick. Each look is one docker exec (socat).
 */
const POLL_MS = 80;
/** Checking containers and units costs a docker exec each, so only every few polls (about 2 s). */
const FAILURE_CHECK_EVERY = 16;

export interface WaitRequest {
  /** Picks the servers that count (the new instances, or all). */
  select: (servers: ServerState[]) => ServerState[];
  wanted: number;
  /** What is waited for, for progress and messages ("new instance(s)"). */
  what: string;
  /** Absolute Date.now() deadline. */
  deadline: number;
  /** Instances whose failure for good ends the wait early. */
  watch?: string[];
}

export interface WaitFailure {
  up: number;
  /** Set when the wait ended early: which instance failed and how. */
  failedFor?: string;
  why: string[];
}

/** Resolves to undefined when `wanted` servers are UP, or to why they are not. */
export async function waitForUp(
  io: StageIO,
  scope: LocalScope,
  request: WaitRequest,
): Promise<WaitFailure | undefined> {
  const { env, names } = scope;
  let latest: ServerState[] = [];
  let failedFor: string | undefined;
  const result = await pollUntil(io, {
    what: `${request.wanted} ${request.what} UP`,
    deadline: request.deadline,
    intervalMs: POLL_MS,
    onStatus: (status) => io.progress(status),
    attempt: async (count) => {
      latest = request.select(await serverStates(io, names.lb));
      const up = latest.filter(isUp).length;
      if (up >= request.wanted) return { done: true, value: undefined };
      if (request.watch && count % FAILURE_CHECK_EVERY === 0) {
        failedFor = await firstFailedForGood(io, scope, request.watch);
        if (failedFor) return { done: true, value: undefined };
      }
      const failing = latest.find((server) => !isUp(server));
      return {
        done: false,
        status: `${up}/${request.wanted} ${request.what} UP${failing ? `; ${describeCheck(failing)}` : ''}`,
      };
    },
  });
  if (result.done && !failedFor) return undefined;

  const down = latest.filter((server) => !isUp(server));
  const first = failedFor?.split(':')[0] ?? down[0]?.name;
  const journal = first ? await journalTail(io, first, env.app) : [];
  return {
    up: latest.length - down.length,
    ...(failedFor ? { failedFor } : {}),
    why: [
      ...(failedFor ? [failedFor] : []),
      ...down.map(describeCheck),
      ...(first ? [`last journal lines of ${first} (${env.app}.service):`, ...journal.map((line) => `  ${line}`)] : []),
    ],
  };
}

/** "NAME: container exited (code 1)" or "NAME: …service failed (start-limit-hit)" for the first instance that cannot recover. */
async function firstFailedForGood(io: StageIO, scope: LocalScope, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    const state = await io.run({
      ...dockerInspect({ format: '{{.State.Status}} {{.State.ExitCode}}', names: [name] }),
      quiet: true,
      okExitCodes: [1],
    });
    const [status = 'missing', code = '?'] = state.stdout.trim().split(' ');
    if (state.exitCode !== 0) return `${name}: container is gone`;
    if (status === 'exited' || status === 'dead') return `${name}: container ${status} (code ${code})`;
    if (status !== 'running') continue;
    const unit = await io.run({
      ...dockerExec(name, ['systemctl', 'show', '--property=ActiveState,Result', `${scope.env.app}.service`]),
      quiet: true,
      okExitCodes: [1, 126, 127],
    });
    const properties = Object.fromEntries(
      unit.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    );
    if (properties.ActiveState === 'failed')
      return `${name}: ${scope.env.app}.service failed for good (${properties.Result ?? 'unknown result'}); systemd stopped restarting it`;
  }
  return undefined;
}
