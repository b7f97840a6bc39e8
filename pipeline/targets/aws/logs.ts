// The instances' journal in CloudWatch Logs: the environment's log group (terraform/logs.tf),
// one stream per instance id, written by the image's bakery-logs unit
// (launcher/bakery_launcher/log_shipper.py). Read as the local target reads the journal:
// the last N lines, or those of the last --since, of every instance in the group (or one,
// which may also be an instance that is gone: its stream stays for the retention), each
// line prefixed with the instance; --follow keeps polling until interrupted.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  type FilteredLogEvent,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import type { StageIO } from '../../context.ts';
import { InputError, InterruptedError } from '../../errors.ts';
import type { LogQuery } from '../../operate/observed.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import { isAwsErrorCode } from './errors.ts';

/** The environment's log group: terraform/logs.tf names it the same (local.log_group_name). */
export function logGroupName(app: string, environment: string): string {
  return `/bakery/${app}/${environment}`;
}

/** "i-0abc | 2026-12-07T22:51:45.123Z shop[412]: GET /health 200": the journal's line, its time and its instance. */
export function formatLogLine(stream: string, timestamp: number | undefined, message: string | undefined): string {
  const when = timestamp === undefined ? '?' : new Date(timestamp).toISOString();
  return `${stream} | ${when} ${(message ?? '').replace(/\n+$/, '')}`;
}

function isMissing(error: unknown): boolean {
  return isAwsErrorCode(error, 'ResourceNotFoundException');
}

/** The group's absence, said as what it means for the operator. */
function missingGroup(group: string): InputError {
  return new InputError(`the log group ${group} does not exist`, [
    'it is created by a deploy of this version of bakery: deploy again, or the environment was destroyed',
  ]);
}

/** Whether the group has a stream of that name (an instance that shipped its journal, perhaps gone since). */
export async function hasStream(io: AwsCallIO, clients: AwsClients, group: string, stream: string): Promise<boolean> {
  try {
    const page = await callAws(
      io,
      { call: 'logs:DescribeLogStreams', resource: group, retry: clients.retry },
      (signal) =>
        clients.logs.send(new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: stream }), {
          abortSignal: signal,
        }),
    );
    return (page.logStreams ?? []).some((candidate) => candidate.logStreamName === stream);
  } catch (error) {
    if (isMissing(error)) throw missingGroup(group);
    throw error;
  }
}

/** The last `lines` events of one instance's stream, oldest first; [] when it shipped nothing yet. */
export async function lastEvents(
  io: AwsCallIO,
  clients: AwsClients,
  group: string,
  stream: string,
  lines: number,
): Promise<OutputLogEvent[]> {
  try {
    const page = await callAws(
      io,
      { call: 'logs:GetLogEvents', resource: `${group}/${stream}`, retry: clients.retry },
      (signal) =>
        clients.logs.send(
          new GetLogEventsCommand({
            logGroupName: group,
            logStreamName: stream,
            startFromHead: false,
            limit: Math.min(Math.max(lines, 1), 10_000),
          }),
          { abortSignal: signal },
        ),
    );
    return (page.events ?? []).slice(-lines);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Every event of the streams from `startTime` (ms) on, in time order across the streams. */
export async function eventsSince(
  io: AwsCallIO,
  clients: AwsClients,
  group: string,
  streams: readonly string[],
  startTime: number,
): Promise<FilteredLogEvent[]> {
  const events: FilteredLogEvent[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(io, { call: 'logs:FilterLogEvents', resource: group, retry: clients.retry }, (signal) =>
      clients.logs.send(
        new FilterLogEventsCommand({
          logGroupName: group,
          // FilterLogEvents takes at most 100 stream names.
          logStreamNames: streams.slice(0, 100),
          startTime,
          ...(token ? { nextToken: token } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    events.push(...(page.events ?? []));
    token = page.nextToken;
  } while (token);
  return events.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
}

export interface LogReadOptions {
  group: string;
  /** The instances whose streams are read. */
  streams: readonly string[];
  query: LogQuery;
  /** Pause between polls while following. */
  pollMs: number;
  now?: () => number;
}

/** Writes the streams' lines as the query asks; with follow, goes on until the run is interrupted. */
export async function readLogs(
  io: StageIO,
  clients: AwsClients,
  options: LogReadOptions,
  write: (line: string) => void,
): Promise<void> {
  const { group, streams, query } = options;
  const now = options.now ?? Date.now;
  let after = now();
  const seen = new Set<string>();
  try {
    if (query.sinceSeconds !== undefined) {
      const events = await eventsSince(io, clients, group, streams, now() - query.sinceSeconds * 1000);
      for (const event of events) {
        if (event.eventId) seen.add(event.eventId);
        write(formatLogLine(event.logStreamName ?? '?', event.timestamp, event.message));
        after = Math.max(after, event.timestamp ?? 0);
      }
    } else {
      for (const stream of streams) {
        const events = await lastEvents(io, clients, group, stream, query.lines);
        if (events.length === 0) write(`${stream} | (no journal lines in ${group} yet)`);
        for (const event of events) write(formatLogLine(stream, event.timestamp, event.message));
      }
    }
    if (!query.follow) return;
    // Events arrive out of order by up to the shipper's batch interval: read a little back
    // and drop what was already written.
    while (!io.signal.aborted) {
      await sleep(options.pollMs, undefined, { signal: io.signal }).catch(() => undefined);
      if (io.signal.aborted) return;
      const events = await eventsSince(io, clients, group, streams, after - 30_000);
      for (const event of events) {
        if (event.eventId && seen.has(event.eventId)) continue;
        if (event.eventId) seen.add(event.eventId);
        write(formatLogLine(event.logStreamName ?? '?', event.timestamp, event.message));
        after = Math.max(after, event.timestamp ?? 0);
      }
    }
  } catch (error) {
    if (isMissing(error)) throw missingGroup(group);
    throw error;
  }
}

/**
 * The failing instances' last journal lines for a failed rollout's error, as the local
 * target gives them: a read that fails is said in a line, never in place of the failure.
 */
export async function journalLines(
  io: AwsCallIO,
  clients: AwsClients,
  group: string,
  instances: readonly string[],
  lines = 10,
): Promise<string[]> {
  const out: string[] = [];
  for (const instance of instances.slice(0, 3)) {
    try {
      const events = await lastEvents(io, clients, group, instance, lines);
      out.push(`last journal lines of ${instance} (CloudWatch Logs ${group}):`);
      if (events.length === 0) out.push('  (none shipped: the instance may not have booted far enough)');
      for (const event of events) out.push(`  ${formatLogLine(instance, event.timestamp, event.message)}`);
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      out.push(`journal of ${instance} could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return out;
}
