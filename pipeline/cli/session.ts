// What deploy.ts and destroy.ts share, one step per function: parse the flags, pick the
// output, load the environment, maybe re-run in the tooling container, take the lock,
// open the run (open-run.ts, as status does too), run the stages, report, and turn any
// error into its exit code. What a run opens is closed through one Closing.

import { dirname, join, resolve } from 'node:path';
import { assertRemoteStateInCi } from '../config/ci-guard.ts';
import { loadConfig } from '../config/load.ts';
import { openPreview } from '../operate/previews.ts';
import type { Config, Environment } from '../config/schema.ts';
import { stateDirOf, stageIO, type RunContext } from '../context.ts';
import { EXIT, UsageError, exitCodeOf, isBakeryError } from '../errors.ts';
import { bakeryVersion } from '../install.ts';
import type { Reporter, RunSummary } from '../output/events.ts';
import { formatMessage } from '../output/format.ts';
import { chooseOutputMode, createReporter, type TextSink } from '../output/reporters.ts';
import { Interrupts } from '../process/interrupts.ts';
import { containerMode, currentHost, runInContainerIfWanted } from '../reexec/index.ts';
import { currentActor, type HistoryEntry, type HistoryStore } from '../state/history.ts';
import { acquireSharedLock, historyOf } from '../targets/kind.ts';
import { openRunLogs } from '../state/run-logs.ts';
import { acquireLock, describeLockHolder, type HeldLock } from '../state/lock.ts';
import { runStages, type Stage } from '../stages/run-stages.ts';
import type { AnyTarget } from '../targets/target.ts';
import { formatHelp, parseArgs, type CommandSpec, type ParsedArgs } from './flags.ts';
import { Closing, openRun } from './open-run.ts';

export interface Streams {
  out: TextSink & { isTTY?: boolean };
  err: TextSink & { isTTY?: boolean };
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** The entry point's streams and environment: the one place bakery reads process.env. */
export const processStreams = (): Streams => {
  const env = process.env;
  // The AWS SDK reads this from process.env itself (when a client is made), so it is set
  // here, on the real environment, before any client exists. bakery pins the SDK
  // (package.json) and runs on Node 20; the SDK's notice that its releases after January
  // 2027 need Node 22 is for whoever upgrades it, not for every deploy's output. A value
  // the user set wins.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return { out: process.stdout, err: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env };
};

/** What a command's hooks know once its environment is loaded. */
export interface Session {
  args: ParsedArgs;
  config: Config;
  env: Environment;
  reporter: Reporter;
  dryRun: boolean;
}

export interface CommandHooks<C extends object> {
  /**
   * Runs before the lock is taken (confirmation prompts, input only found by looking:
   * secrets); may throw an InputError. Returns values the run's logs must never show.
   */
  beforeLock?(session: Session): Promise<{ redact: readonly string[] } | void>;
  /** The stages and the context they start from. */
  stages(session: Session, context: RunContext, target: AnyTarget): { stages: Stage<C>[]; initial: C };
  /** Fills the summary's command-specific fields from what the stages produced; returns the line for stdout, if any. */
  finish(session: Session, results: C, summary: RunSummary): string | undefined;
  /** What the history entry says beyond the summary: a deploy that is a rollback, the image's git revision. */
  historyFields?(session: Session, results: C | undefined): HistoryExtras;
}

export type HistoryExtras = Partial<Pick<HistoryEntry, 'command' | 'git_revision' | 'release'>>;

/** Runs one command end to end; resolves to the exit code (never throws). */
export async function runCommand<C extends object>(
  spec: CommandSpec<'deploy' | 'destroy'>,
  argv: readonly string[],
  hooks: CommandHooks<C>,
  streams: Streams = processStreams(),
): Promise<number> {
  const args = parseOrAnswer(spec, argv, streams);
  if (typeof args === 'number') return args;

  const reporter = reporterFor(args, streams);
  const preview = args.flags.get('preview');
  const summary = startSummary(spec.command, args.positionals[0] ?? (typeof preview === 'string' ? preview : 'local'));
  // What destroy.ts takes to name this environment, for the hint after a forced stop.
  const interrupts = installInterrupts(reporter, typeof preview === 'string' ? `--preview ${preview}` : summary.env);
  const closing = new Closing();
  const run: CommandRun<C> = { spec, argv, args, hooks, streams, reporter, interrupts, summary, closing };
  const ending = await runStagesOf(run).catch((error: unknown): Ending => {
    reportFailure(error, summary, reporter, streams);
    return {};
  });
  // The history entry, the lock, the logs: closed last opened first, after any failure is in the summary.
  await closing.closeAll();
  interrupts.uninstall();
  if (ending.delegatedExit === undefined) reporter.emit({ kind: 'run-end', summary });
  reporter.close();
  if (ending.stdoutLine !== undefined) streams.out.write(`${ending.stdoutLine}\n`);
  return ending.delegatedExit ?? summary.exit_code;
}

/** Everything one command run works with; `summary` fills in as it goes. */
interface CommandRun<C extends object> {
  spec: CommandSpec<'deploy' | 'destroy'>;
  argv: readonly string[];
  args: ParsedArgs;
  hooks: CommandHooks<C>;
  streams: Streams;
  reporter: Reporter;
  interrupts: Interrupts;
  summary: RunSummary;
  closing: Closing;
}

/** How a run ended when nothing threw: its stdout line, or the exit code of the tooling container that ran it. */
interface Ending {
  stdoutLine?: string;
  /** Set when the tooling container ran the command (it reported for itself). */
  delegatedExit?: number;
}

/** Load, maybe delegate, confirm, lock, open the run, run the stages, report. */
async function runStagesOf<C extends object>(run: CommandRun<C>): Promise<Ending> {
  const { spec, hooks, streams, reporter, summary, closing } = run;
  const startedAt = new Date();
  const { session, root } = await loadSession(run.args, summary.env, reporter, streams, {
    createPreview: spec.command === 'deploy',
  });
  summary.env = session.env.name;
  summary.target = session.env.target;

  const delegatedExit = await delegateToContainer(spec, run.argv, session, root, streams);
  if (delegatedExit !== undefined) return { delegatedExit };

  const redact = (await hooks.beforeLock?.(session))?.redact ?? [];
  const stateDir = stateDirOf(root, session.env.name);
  const lock = await lockEnvironment(join(stateDir, 'lock'), spec.command, session.dryRun, reporter);
  closing.add(() => lock?.release());
  // Other machines (CI runners sharing the S3 state) see this one; a dry run takes none.
  if (!session.dryRun) {
    const sharedLock = await acquireSharedLock(session.env, streams.env, spec.command, (text) => warn(run, [text]));
    closing.add(() =>
      sharedLock
        ?.release()
        .catch((error: unknown) =>
          warn(run, [`could not release the shared lock: ${error instanceof Error ? error.message : String(error)}`]),
        ),
    );
  }

  const history = historyOf(session.env, stateDir, streams.env);
  // Only runs that may change something enter the history; the entry says how the run ended.
  const results: { produced?: C } = {};
  if (!session.dryRun)
    closing.add(() =>
      recordHistory(history, spec.command, summary, hooks.historyFields?.(session, results.produced) ?? {}, {
        startedAt,
        streams,
        reporter,
      }),
    );
  const logDir = await openRunLogs(stateDir, { prune: !session.dryRun });
  summary.log_dir = logDir;
  const { context, target } = await openRun(
    session,
    { root, stateDir, logDir, history },
    { interrupts: run.interrupts, reporter, streams, redact, onIncompleteLogs: (warnings) => warn(run, warnings) },
    closing,
  );

  const { stages, initial } = hooks.stages(session, context, target);
  reporter.emit({
    kind: 'run-start',
    command: spec.command,
    env: session.env.name,
    target: session.env.target,
    logDir,
    dryRun: session.dryRun,
  });
  const outcome = await runStages(stages, initial, {
    reporter,
    dryRun: session.dryRun,
    signal: context.signal,
    ioFor: (stage) => stageIO(context, stage),
  });
  summary.stages = outcome.summaries;
  results.produced = outcome.context;
  const stdoutLine = hooks.finish(session, outcome.context, summary);
  if (outcome.error !== undefined) throw outcome.error;
  summary.ok = true;
  summary.exit_code = EXIT.ok;
  return stdoutLine === undefined ? {} : { stdoutLine };
}

/** Problems that did not fail the run but leave something incomplete: in the summary and on the terminal. */
function warn(run: CommandRun<object>, warnings: string[]): void {
  run.summary.warnings = [...(run.summary.warnings ?? []), ...warnings];
  for (const text of warnings) run.reporter.emit({ kind: 'message', level: 'warn', text });
}

function reporterFor(args: ParsedArgs, streams: Streams): Reporter {
  return createReporter({
    mode: chooseOutputMode({ json: args.flags.has('json'), isTTY: Boolean(streams.err.isTTY), env: streams.env }),
    err: streams.err,
    out: streams.out,
    verbose: args.flags.has('verbose'),
  });
}

/** A failed run's summary until the stages say otherwise. */
function startSummary(command: RunSummary['command'], env: string): RunSummary {
  return { command, env, target: 'unknown', stages: [], ok: false, exit_code: EXIT.deployFailed };
}

/** The parsed flags, or the exit code once --help, --version or a bad flag has been answered. */
export function parseOrAnswer(spec: CommandSpec, argv: readonly string[], streams: Streams): ParsedArgs | number {
  let args: ParsedArgs;
  try {
    args = parseArgs(spec, argv);
  } catch (error) {
    streams.err.write(`${describeError(error)}\n`);
    return exitCodeOf(error);
  }
  for (const note of args.notes ?? []) streams.err.write(`note: ${note}\n`);
  if (args.flags.has('help')) {
    streams.out.write(formatHelp(spec));
    return EXIT.ok;
  }
  if (args.flags.has('version')) {
    streams.out.write(`bakery ${bakeryVersion()}\n`);
    return EXIT.ok;
  }
  return args;
}

/** Re-runs the command in the tooling container when wanted; its exit code, or undefined to run here. */
function delegateToContainer(
  spec: CommandSpec<'deploy' | 'destroy'>,
  argv: readonly string[],
  session: Session,
  root: string,
  streams: Streams,
): Promise<number | undefined> {
  const { flags } = session.args;
  return runInContainerIfWanted(
    {
      mode: containerMode(flags.get('container') as string | undefined, flags.has('no-container'), streams.env),
      command: spec.command,
      argv,
      root,
      target: session.env.target,
      dryRun: session.dryRun,
    },
    currentHost(streams),
  );
}

/**
 * Takes the environment's lock for a run that changes something. A dry run changes
 * nothing, so it takes none; it says when a real run would wait.
 */
async function lockEnvironment(
  lockPath: string,
  command: RunSummary['command'],
  dryRun: boolean,
  reporter: Reporter,
): Promise<HeldLock | undefined> {
  if (dryRun) {
    const holder = await describeLockHolder(lockPath);
    if (holder)
      reporter.emit({
        kind: 'message',
        level: 'warn',
        text: `${holder}: a real run would stop here until it finishes`,
      });
    return undefined;
  }
  return acquireLock(lockPath, command, (owner) =>
    reporter.emit({
      kind: 'message',
      level: 'warn',
      text: `took over a stale lock${owner ? ` left by pid ${owner.pid} (${owner.command} since ${owner.started_at})` : ''}`,
    }),
  );
}

/** Appends the run to the environment's history, under the lock; a failed write is a warning, not a failed run. */
async function recordHistory(
  history: HistoryStore,
  command: RunSummary['command'],
  summary: RunSummary,
  extras: HistoryExtras,
  { startedAt, streams, reporter }: { startedAt: Date; streams: Streams; reporter: Reporter },
): Promise<void> {
  try {
    await history.append({
      command: extras.command ?? command,
      env: summary.env,
      target: summary.target,
      started_at: startedAt.toISOString(),
      seconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      who: currentActor(streams.env),
      ...(summary.image ? { image: summary.image } : {}),
      ...(summary.fingerprint ? { fingerprint: summary.fingerprint } : {}),
      ...(extras.git_revision ? { git_revision: extras.git_revision } : {}),
      ...(extras.release ? { release: extras.release } : {}),
      outcome: summary.ok ? 'succeeded' : summary.exit_code === EXIT.interrupted ? 'interrupted' : 'failed',
      exit_code: summary.exit_code,
      ...(summary.error ? { error: summary.error.message.split('\n')[0] } : {}),
    });
  } catch (error) {
    reporter.emit({
      kind: 'message',
      level: 'warn',
      text: errorMessage(error),
      details: isBakeryError(error) ? error.details : [],
    });
  }
}

/** Reads deploy.yaml and picks the environment named on the command line. */
export async function loadSession(
  args: ParsedArgs,
  envName: string,
  reporter: Reporter,
  streams: Streams,
  /** Whether a preview named with --preview is made when it does not exist yet (deploy). */
  options: { createPreview?: boolean } = {},
): Promise<{ session: Session; root: string }> {
  if (args.positionals.length > 1) {
    throw new UsageError(
      `expected at most one environment name, got ${args.positionals.length}: ${args.positionals.join(' ')}`,
    );
  }
  const configPath = resolve(String(args.flags.get('config') ?? 'deploy.yaml'));
  const config = await loadConfig(configPath);
  const preview = args.flags.get('preview');
  if (typeof preview === 'string') {
    if (args.positionals.length > 0)
      throw new UsageError(`--preview ${preview} names the environment: leave out ${args.positionals[0]}`);
    const { env } = await openPreview(config, dirname(configPath), preview, {
      create: options.createPreview === true && !args.flags.has('dry-run'),
    });
    assertRemoteStateInCi(env, streams.env);
    return { session: { args, config, env, reporter, dryRun: args.flags.has('dry-run') }, root: dirname(configPath) };
  }
  // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
  const env = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
  if (!env) {
    throw new UsageError(`unknown environment ${JSON.stringify(envName)}`, [
      `environments in ${configPath}: ${Object.keys(config.environments).join(', ')}`,
    ]);
  }
  assertRemoteStateInCi(env, streams.env);
  return { session: { args, config, env, reporter, dryRun: args.flags.has('dry-run') }, root: dirname(configPath) };
}

function installInterrupts(reporter: Reporter, envName: string): Interrupts {
  return new Interrupts({
    onFirst: (signal, running) =>
      reporter.emit({
        kind: 'message',
        level: 'warn',
        text: `${signal}: stopping${running.length > 0 ? `; waiting for ${running.join(', ')} to clean up` : ''} (press Ctrl-C again to force)`,
      }),
    onSecond: (running) =>
      reporter.emit({
        kind: 'message',
        level: 'warn',
        text: `forced stop: killed ${running.join(', ') || 'nothing'}`,
        details: [`what those tools were creating may be left behind: run ./destroy.ts ${envName} to remove it`],
      }),
  }).install();
}

/** Puts the error into the summary and on the terminal; a stack trace only for a bug. */
function reportFailure(error: unknown, summary: RunSummary, reporter: Reporter, streams: Streams): void {
  summary.ok = false;
  summary.exit_code = exitCodeOf(error);
  summary.error = { message: errorMessage(error), details: isBakeryError(error) ? error.details : [] };
  reporter.emit({ kind: 'message', level: 'error', text: summary.error.message, details: summary.error.details });
  if (!isBakeryError(error) && error instanceof Error && error.stack) streams.err.write(`${error.stack}\n`);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeError(error: unknown): string {
  return formatMessage('error', errorMessage(error), isBakeryError(error) ? error.details : []);
}

/** Writes an error for a person; a stack trace only for a bug (an error that is not bakery's). Returns its exit code. */
export function writeError(error: unknown, streams: Pick<Streams, 'err'>): number {
  streams.err.write(`${describeError(error)}\n`);
  if (!isBakeryError(error) && error instanceof Error && error.stack) streams.err.write(`${error.stack}\n`);
  return exitCodeOf(error);
}

/** Sets the exit code from a command's result; the one place that decides it. */
export async function main(run: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await run();
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
