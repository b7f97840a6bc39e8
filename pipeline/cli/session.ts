// What deploy.ts and destroy.ts share: parse, load the config, pick the output, take
// the lock, run the stages, report, and turn any error into the right exit code.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertRemoteStateInCi } from '../config/ci-guard.ts';
import { loadConfig } from '../config/load.ts';
import type { Config, Environment } from '../config/schema.ts';
import { containerMode, runInContainerIfWanted } from '../reexec/index.ts';
import { runStamp, stateDirOf, type RunContext } from '../context.ts';
import { EXIT, UsageError, exitCodeOf, isBakeryError } from '../errors.ts';
import { Interrupts } from '../process/interrupts.ts';
import { acquireLock, type HeldLock } from '../state/lock.ts';
import { KEPT_RUNS, pruneRunLogs } from '../state/log-retention.ts';
import type { Reporter, RunSummary, StageSummary } from '../output/events.ts';
import { formatMessage } from '../output/format.ts';
import { chooseOutputMode, createReporter, type TextSink } from '../output/reporters.ts';
import { ProcessRunner } from '../process/runner.ts';
import { Redactor } from '../process/redact.ts';
import { runStages, type Stage } from '../stages/runner.ts';
import { createTarget } from '../targets/index.ts';
import type { DeployTarget } from '../targets/target.ts';
import { formatHelp, parseArgs, type CommandSpec, type ParsedArgs } from './flags.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function bakeryVersion(): string {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

export interface Streams {
  out: TextSink & { isTTY?: boolean };
  err: TextSink & { isTTY?: boolean };
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export const processStreams = (): Streams => ({
  out: process.stdout,
  err: process.stderr,
  stdinIsTTY: Boolean(process.stdin.isTTY),
  env: process.env,
});

export interface Session {
  args: ParsedArgs;
  config: Config;
  env: Environment;
  context: RunContext;
  target: DeployTarget;
  reporter: Reporter;
  summaries: StageSummary[];
}

export interface CommandHooks {
  /** Runs before the lock is taken (confirmation prompts); may throw UsageError. */
  beforeLock?(session: Omit<Session, 'context' | 'target'>): Promise<void>;
  stages(session: Session): Stage[];
  /** Fills the summary's command-specific fields; returns the line for stdout (printed after the summary), if any. */
  finish(session: Session, summary: RunSummary): string | undefined;
}

/** Runs one command end to end; resolves to the exit code (never throws). */
export async function runCommand(spec: CommandSpec, argv: readonly string[], hooks: CommandHooks, streams: Streams = processStreams()): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(spec, argv);
  } catch (error) {
    streams.err.write(`${describeError(error)}\n`);
    return exitCodeOf(error);
  }
  if (args.flags.has('help')) {
    streams.out.write(formatHelp(spec));
    return EXIT.ok;
  }
  if (args.flags.has('version')) {
    streams.out.write(`bakery ${bakeryVersion()}\n`);
    return EXIT.ok;
  }

  const json = args.flags.has('json');
  const reporter = createReporter({
    mode: chooseOutputMode({ json, isTTY: Boolean(streams.err.isTTY), env: streams.env }),
    err: streams.err,
    out: streams.out,
    verbose: args.flags.has('verbose'),
  });
  const summaries: StageSummary[] = [];
  const dryRun = args.flags.has('dry-run');
  const envName = args.positionals[0] ?? 'local';
  const summary: RunSummary = { command: spec.command, env: envName, target: 'unknown', stages: summaries, ok: false, exit_code: EXIT.deployFailed };

  let lock: HeldLock | undefined;
  let result: string | undefined;
  let runner: ProcessRunner | undefined;
  // Set when the run went to the tooling container, which reports for itself.
  let delegated = false;
  const interrupts = new Interrupts({
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

  try {
    if (args.positionals.length > 1) {
      throw new UsageError(`expected at most one environment name, got ${args.positionals.length}: ${args.positionals.join(' ')}`);
    }
    const configPath = resolve(String(args.flags.get('config') ?? 'deploy.yaml'));
    const config = await loadConfig(configPath);
    // Own keys only: "constructor" or "toString" must not find Object.prototype's members.
    const env = Object.hasOwn(config.environments, envName) ? config.environments[envName] : undefined;
    if (!env) {
      throw new UsageError(`unknown environment ${JSON.stringify(envName)}`, [`environments in ${configPath}: ${Object.keys(config.environments).join(', ')}`]);
    }
    summary.target = env.target;
    assertRemoteStateInCi(env, streams.env);
    const root = dirname(configPath);

    const containerExit = await runInContainerIfWanted({
      mode: containerMode(args.flags.get('container') as string | undefined, args.flags.has('no-container'), streams.env),
      command: spec.command,
      argv,
      root,
      target: env.target,
      dryRun,
    });
    if (containerExit !== undefined) {
      delegated = true;
      return containerExit;
    }

    await hooks.beforeLock?.({ args, config, env, reporter, summaries });
    const stateDir = stateDirOf(root, env.name);
    if (!dryRun) {
      lock = await acquireLock(join(stateDir, 'lock'), spec.command, (owner) =>
        reporter.emit({
          kind: 'message',
          level: 'warn',
          text: `took over a stale lock${owner ? ` left by pid ${owner.pid} (${owner.command} since ${owner.started_at})` : ''}`,
        }),
      );
    }
    const logDir = join(stateDir, 'logs', runStamp());
    summary.log_dir = logDir;
    if (!dryRun) await pruneRunLogs(join(stateDir, 'logs'), KEPT_RUNS - 1);
    runner = new ProcessRunner({ logDir, reporter, redactor: new Redactor(streams.env), interrupts });
    const context: RunContext = { root, config, env, stateDir, logDir, runner, reporter, signal: interrupts.signal };
    const session: Session = { args, config, env, context, target: await createTarget(context), reporter, summaries };

    reporter.emit({ kind: 'run-start', command: spec.command, env: env.name, target: env.target, logDir, dryRun });
    await runStages(hooks.stages(session), { reporter, dryRun, summaries, signal: interrupts.signal });
    summary.ok = true;
    summary.exit_code = EXIT.ok;
    result = hooks.finish(session, summary);
  } catch (error) {
    summary.exit_code = exitCodeOf(error);
    summary.error = { message: errorMessage(error), details: isBakeryError(error) ? error.details : [] };
    reporter.emit({ kind: 'message', level: 'error', text: summary.error.message, details: summary.error.details });
    if (!isBakeryError(error) && error instanceof Error && error.stack) streams.err.write(`${error.stack}\n`);
  } finally {
    await lock?.release();
    await runner?.close();
    interrupts.uninstall();
    if (!delegated) reporter.emit({ kind: 'run-end', summary });
    reporter.close();
  }
  if (result !== undefined) streams.out.write(`${result}\n`);
  return summary.exit_code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeError(error: unknown): string {
  return formatMessage('error', errorMessage(error), isBakeryError(error) ? error.details : []);
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
