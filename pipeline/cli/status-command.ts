// The status command: what runs in an environment and how it differs from the last
// deployment (exit 0 as deployed, 1 drift), the deploy history (--history), the
// instances' logs (--logs). Read only: no lock, no history entry, nothing under .deploy/.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDirOf, stageIO, type RunContext } from '../context.ts';
import { EXIT, InterruptedError, UsageError, isBakeryError } from '../errors.ts';
import { findDrift, type UrlCheck } from '../operate/drift.ts';
import { formatHistory, formatStatus, newestEntries } from '../operate/format.ts';
import type { LogQuery } from '../operate/observed.ts';
import { parseSince } from '../operate/since.ts';
import type { Reporter } from '../output/events.ts';
import { formatMessage } from '../output/format.ts';
import { Interrupts } from '../process/interrupts.ts';
import { probeOnce } from '../stages/http-health.ts';
import { localHistory, type HistoryStore } from '../state/history.ts';
import { historyOf } from '../targets/kind.ts';
import { readDeploymentRecord } from '../state/record.ts';
import type { AnyTarget } from '../targets/target.ts';
import { STATUS_SPEC, type ParsedArgs } from './flags.ts';
import { Closing, openRun } from './open-run.ts';
import { listPreviewsCommand } from './preview-list.ts';
import {
  errorMessage,
  loadSession,
  parseOrAnswer,
  processStreams,
  writeError,
  type Session,
  type Streams,
} from './session.ts';

const DEFAULT_HISTORY = 10;
const DEFAULT_LOG_LINES = 100;
const HEALTH_TIMEOUT_MS = 5_000;

type Mode = { kind: 'status' } | { kind: 'history'; count: number } | { kind: 'logs'; query: LogQuery };

/** Which question the flags ask, checked for flags that belong to another one. */
export function statusMode(args: ParsedArgs): Mode {
  const flags = args.flags;
  const logOnly = ['follow', 'instance', 'since'].filter((name) => flags.has(name));
  if (flags.has('history') && flags.has('logs'))
    throw new UsageError('--history and --logs are two questions: ask one');
  if (!flags.has('logs') && logOnly.length > 0)
    throw new UsageError(`--${logOnly[0]} goes with --logs (e.g. ./status.ts ENV --logs --${logOnly[0]} …)`);
  const history = flags.get('history');
  if (history !== undefined) {
    if (history !== true && (!/^\d+$/.test(history) || Number(history) < 1))
      throw new UsageError(`--history ${JSON.stringify(history)} is not allowed: expected a whole number from 1`);
    return { kind: 'history', count: history === true ? DEFAULT_HISTORY : Number(history) };
  }
  if (flags.has('logs')) {
    const since = flags.get('since');
    const instance = flags.get('instance');
    return {
      kind: 'logs',
      query: {
        lines: DEFAULT_LOG_LINES,
        follow: flags.has('follow'),
        ...(typeof since === 'string' ? { sinceSeconds: parseSince(since) } : {}),
        ...(typeof instance === 'string' ? { instance } : {}),
      },
    };
  }
  return { kind: 'status' };
}

/**
 * The history to show: a shared copy that cannot be read (S3 unreachable, access denied)
 * still leaves this machine's, with a warning that says what is missing.
 */
async function readHistoryOrLocal(history: HistoryStore, stateDir: string, reporter: Reporter) {
  try {
    return await history.read();
  } catch (error) {
    const local = localHistory(stateDir);
    if (history.location === local.location) throw error;
    reporter.emit({
      kind: 'message',
      level: 'warn',
      text: `showing only ${local.location}: the shared history could not be read (${errorMessage(error)})`,
      details: isBakeryError(error) ? error.details : [],
    });
    return local.read();
  }
}

/** Only warnings and errors reach the terminal: status prints its own report on stdout. */
function quietReporter(streams: Streams): Reporter {
  return {
    emit: (event) => {
      if (event.kind === 'message' && event.level !== 'info')
        streams.err.write(`${formatMessage(event.level, event.text, event.details)}\n`);
    },
    close: () => {},
  };
}

export async function statusCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  const reporter = quietReporter(streams);
  const args = parseOrAnswer(STATUS_SPEC, argv, streams);
  if (typeof args === 'number') return args;
  try {
    if (args.flags.has('previews')) return await listPreviewsCommand(args, streams);
    const mode = statusMode(args);
    const { session, root } = await loadSession(args, args.positionals[0] ?? 'local', reporter, streams);
    const stateDir = stateDirOf(root, session.env.name);
    const json = args.flags.has('json');
    if (mode.kind === 'history') {
      const history = historyOf(session.env, stateDir, streams.env);
      const entries = newestEntries(await readHistoryOrLocal(history, stateDir, reporter), mode.count);
      writeLines(streams, json ? [JSON.stringify(entries)] : formatHistory(entries, history.location));
      return EXIT.ok;
    }
    return await withTarget(session, root, stateDir, reporter, streams, (target, context) =>
      mode.kind === 'logs'
        ? showLogs(target, context, mode.query, streams)
        : showStatus(target, context, json, streams),
    );
  } catch (error) {
    return writeError(error, streams);
  }
}

/**
 * Makes the target with a run context whose tool logs go to a temporary directory (status
 * writes nothing under .deploy/); the directory is kept when something failed, so the
 * error's log path still exists.
 */
async function withTarget(
  session: Session,
  root: string,
  stateDir: string,
  reporter: Reporter,
  streams: Streams,
  use: (target: AnyTarget, context: RunContext) => Promise<number>,
): Promise<number> {
  const logDir = await mkdtemp(join(tmpdir(), `bakery-status-${session.env.name}-`));
  const interrupts = new Interrupts().install();
  const closing = new Closing();
  closing.add(() => interrupts.uninstall());
  try {
    const { context, target } = await openRun(
      session,
      { root, stateDir, logDir, history: historyOf(session.env, stateDir, streams.env) },
      { interrupts, reporter, streams },
      closing,
    );
    const code = await use(target, context);
    await closing.closeAll();
    await rm(logDir, { recursive: true, force: true });
    return code;
  } finally {
    // After a failure the logs stay: the error names them.
    await closing.closeAll();
  }
}

async function showStatus(target: AnyTarget, context: RunContext, json: boolean, streams: Streams): Promise<number> {
  if (!target.status) throw new UsageError(`status is not available for target ${target.name}`);
  const io = stageIO(context, 'status');
  const record = await readDeploymentRecord(context.stateDir);
  const status = await target.status(io, record);
  let urlCheck: UrlCheck | undefined;
  if (record) {
    const url = new URL(context.env.service.health_path.replace(/^\//, ''), record.url).toString();
    const stack = { url: record.url };
    const result = await probeOnce(url, HEALTH_TIMEOUT_MS, io.signal, target.healthDispatcher?.(stack));
    urlCheck = { url, result, ok: result === '200' };
  }
  const drift = findDrift(record, status, urlCheck);
  const { env } = context;
  if (json) {
    writeLines(streams, [
      JSON.stringify({
        env: env.name,
        target: env.target,
        ok: drift.length === 0,
        record: record ?? null,
        image: status.image ?? null,
        url: urlCheck ?? null,
        load_balancer: status.loadBalancer,
        desired: status.desired,
        instances: status.instances,
        alarms: status.alarms ?? null,
        database: status.database ?? null,
        drift,
      }),
    ]);
  } else {
    writeLines(streams, formatStatus(`${env.app}/${env.name} (target ${env.target})`, record, status, urlCheck, drift));
  }
  return drift.length === 0 ? EXIT.ok : EXIT.deployFailed;
}

async function showLogs(target: AnyTarget, context: RunContext, query: LogQuery, streams: Streams): Promise<number> {
  if (!target.logs) throw new UsageError(`--logs is not available for target ${target.name}`);
  try {
    await target.logs(stageIO(context, 'logs'), query, (line) => streams.out.write(`${line}\n`));
  } catch (error) {
    // Ctrl-C is how --follow ends: that is the normal end, not a failure.
    if (query.follow && error instanceof InterruptedError) return EXIT.ok;
    throw error;
  }
  return EXIT.ok;
}

function writeLines(streams: Streams, lines: readonly string[]): void {
  streams.out.write(`${lines.join('\n')}\n`);
}
