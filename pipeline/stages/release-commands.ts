// The release commands: service.release's commands (migrations), once per deploy that changes
// the image or the runtime settings, on the NEW image with the environment's settings,
// after provision (network, load balancer) and before the rollout, so that no instance of
// the new release takes traffic before they succeed. The old release keeps serving
// meanwhile, on the new schema until the rollout ends (expand/contract). A command that
// fails or outlives release_timeout_s stops the deploy (exit 1) with the fleet untouched.

import type { RuntimeSettings } from '../config/runtime-settings.ts';
import type { Environment } from '../config/schema.ts';
import type { StageIO } from '../context.ts';
import { DeployError } from '../errors.ts';
import type { HistoryEntry, HistoryStore } from '../state/history.ts';
import type { AnyTarget, ImageRef } from '../targets/target.ts';

/** What the history keeps of a release that ran: on which image, and when it ended. */
export type ReleaseRecord = NonNullable<HistoryEntry['release']>;

/** The release commands as the one-off runs them: `/bin/sh -c`, so `&&` and quoting work. */
export function releaseArgv(command: string): string[] {
  return ['/bin/sh', '-c', command];
}

/**
 * Why the release does not run, or false when it must: nothing configured, or the fleet
 * already runs this image with these settings (a re-run of the same deploy).
 */
export async function releaseSkipReason(
  io: StageIO,
  target: AnyTarget,
  env: Environment,
  image: ImageRef,
  settings: RuntimeSettings,
): Promise<string | false> {
  if (env.service.release.length === 0) return 'no release commands configured (service.release)';
  if (await target.servesAlready(io, image, settings))
    return `nothing changed: every instance already runs ${image.name ?? image.id} with these settings`;
  return false;
}

/** Runs each command in order on `image`; the first that fails or times out stops the deploy. */
export async function runRelease(
  io: StageIO,
  target: AnyTarget,
  env: Environment,
  image: ImageRef,
  settings: RuntimeSettings,
  now: () => number = Date.now,
): Promise<ReleaseRecord> {
  const { release, release_timeout_s: timeoutS } = env.service;
  const deadline = now() + timeoutS * 1000;
  for (const [index, command] of release.entries()) {
    const key = `service.release[${index}]`;
    const left = deadline - now();
    if (left <= 0) throw timedOut(key, command, timeoutS, []);
    io.info(`release: ${command}`);
    const result = await target.runOneOff(io, image, settings, {
      argv: releaseArgv(command),
      purpose: 'release',
      timeoutMs: left,
      attach: { kind: 'stream' },
    });
    if (result.timedOut) throw timedOut(key, command, timeoutS, result.lastLines);
    if (result.exitCode !== 0) {
      throw new DeployError(
        `the release command ${key} (${command}) failed with exit code ${result.exitCode}: the new release was not rolled out, the old one keeps serving`,
        [`ran in ${result.where} on ${image.name ?? image.id}`, 'last lines:', ...indent(result.lastLines)],
      );
    }
  }
  return { image: image.id, commands: release.length, finished_at: new Date(now()).toISOString() };
}

function timedOut(key: string, command: string, timeoutS: number, lines: string[]): DeployError {
  return new DeployError(
    `the release command ${key} (${command}) did not finish within release_timeout_s (${timeoutS} s) and was stopped: the new release was not rolled out, the old one keeps serving`,
    lines.length > 0 ? ['last lines:', ...indent(lines)] : [],
  );
}

function indent(lines: readonly string[]): string[] {
  return lines.length === 0 ? ['  (no output)'] : lines.map((line) => `  ${line}`);
}

/**
 * For --rollback: the newest release that ran after the release rolled back to. Its schema
 * changes stay: the image going back runs on them (the schema does not go back).
 */
export function releaseAfter(history: readonly HistoryEntry[], backTo: HistoryEntry): HistoryEntry | undefined {
  return [...history].reverse().find((entry) => entry.release !== undefined && entry.started_at > backTo.started_at);
}

/** On --rollback to `image`: warns when a release ran after the one going back (its schema stays). */
export async function warnIfSchemaAhead(
  io: StageIO,
  history: Pick<HistoryStore, 'read'>,
  image: ImageRef,
): Promise<void> {
  const entries = await history.read().catch(() => []);
  const backTo = [...entries]
    .reverse()
    .find((entry) => entry.image === image.id && entry.outcome === 'succeeded' && entry.command !== 'destroy');
  if (!backTo) return;
  const later = releaseAfter(entries, backTo);
  if (!later?.release) return;
  io.warn(
    `the release rolled back to (${backTo.started_at}) is older than the last release commands that ran (${later.release.finished_at}, image ${later.release.image}): the schema does not go back`,
    [
      'the image going back runs on the schema those commands left (expand/contract keeps the old code working on it)',
      'undo a schema change with a new release that reverts it, not with --rollback',
    ],
  );
}
