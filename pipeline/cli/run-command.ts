// The run command: `./run.ts ENV [flags] -- COMMAND [ARGS…]` runs COMMAND once on the image
// in service with the environment's settings (a shell, createsuperuser, a data fix).
// COMMAND owns the terminal; its exit code is the run's. It takes no lock: an interactive
// shell may stay open for hours and must not hold up deploys meanwhile. Each run is one
// history entry (which program, on which image, its exit code), never its arguments,
// which may carry a password.

import { resolveRuntimeSettings } from '../config/runtime-settings.ts';
import { stageIO, stateDirOf } from '../context.ts';
import { InputError, UsageError } from '../errors.ts';
import { chooseOutputMode, createReporter } from '../output/reporters.ts';
import { Interrupts } from '../process/interrupts.ts';
import { currentActor, type HistoryEntry, type HistoryStore } from '../state/history.ts';
import { readDeploymentRecord } from '../state/record.ts';
import { openRunLogs } from '../state/run-logs.ts';
import { historyOf } from '../targets/history.ts';
import { createTarget } from '../targets/index.ts';
import { RUN_SPEC } from './flags.ts';
import { createRunContext, loadSession, parseOrAnswer, processStreams, writeError, type Streams } from './session.ts';

/** The words before `--` (ENV and flags) and the command after it; no `--` or no command is bad input. */
export function splitRunArgv(argv: readonly string[]): { own: string[]; command: string[] } {
  const at = argv.indexOf('--');
  const asksHelp = argv.some((word) => word === '--help' || word === '-h' || word === '--version');
  if (at === -1) {
    if (asksHelp) return { own: [...argv], command: [] };
    throw new UsageError('no command to run: put it after --, e.g. ./run.ts local -- python manage.py shell', [
      `usage: ${RUN_SPEC.usage}`,
    ]);
  }
  const command = argv.slice(at + 1);
  if (command.length === 0 && !asksHelp)
    throw new UsageError('no command after --: e.g. ./run.ts local -- python manage.py shell', [
      `usage: ${RUN_SPEC.usage}`,
    ]);
  if (command[0] === '') throw new UsageError('the command after -- is empty');
  return { own: argv.slice(0, at), command };
}

export async function runCommand(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  let split: ReturnType<typeof splitRunArgv>;
  try {
    split = splitRunArgv(argv);
  } catch (error) {
    return writeError(error, streams);
  }
  const args = parseOrAnswer(RUN_SPEC, split.own, streams);
  if (typeof args === 'number') return args;

  const reporter = createReporter({
    mode: chooseOutputMode({ json: false, isTTY: Boolean(streams.err.isTTY), env: streams.env }),
    err: streams.err,
    out: streams.out,
    verbose: args.flags.has('verbose'),
  });
  const envName = args.positionals[0] ?? 'local';
  const startedAt = new Date();
  let history: HistoryStore | undefined;
  let entry: Partial<HistoryEntry> = {};
  let exitCode: number;
  let error: unknown;
  let close: (() => Promise<string[]>) | undefined;
  try {
    const { session, root } = await loadSession(args, envName, reporter, streams);
    const { env, config } = session;
    entry = { env: env.name, target: env.target };
    const settings = resolveRuntimeSettings(env, config.file, streams.env);
    const stateDir = stateDirOf(root, env.name);
    const record = await readDeploymentRecord(stateDir);
    if (!record)
      throw new InputError(`${env.app}/${env.name} has no release in service to run a command on`, [
        `deploy it first: ./deploy.ts ${env.name}`,
      ]);
    history = historyOf(env, stateDir, streams.env);
    const logDir = await openRunLogs(stateDir, { prune: false });
    // Not installed: the command owns the terminal and its signals (docker forwards them).
    const context = createRunContext(
      session,
      { root, stateDir, logDir, history },
      new Interrupts(),
      reporter,
      streams,
      settings.secretValues,
    );
    close = () => context.runner.close();
    const target = await createTarget(context);
    const io = stageIO(context, 'run');
    const image = await target.images.resolve(io, record.image);
    entry = { ...entry, one_off: { image: image.id, program: split.command[0] as string } };
    const result = await target.runOneOff(io, image, settings, {
      argv: split.command,
      purpose: 'run',
      attach: { kind: 'terminal', tty: streams.stdinIsTTY && Boolean(streams.out.isTTY) },
    });
    exitCode = result.exitCode;
  } catch (caught) {
    error = caught;
    exitCode = writeError(caught, streams);
  } finally {
    await close?.();
    reporter.close();
  }
  if (history && entry.one_off) {
    await history
      .append({
        command: 'run',
        env: entry.env ?? envName,
        target: entry.target ?? 'unknown',
        started_at: startedAt.toISOString(),
        seconds: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
        who: currentActor(streams.env),
        one_off: entry.one_off,
        outcome: exitCode === 0 ? 'succeeded' : 'failed',
        exit_code: exitCode,
        ...(error instanceof Error ? { error: error.message.split('\n')[0] } : {}),
      })
      .catch((failure: unknown) => {
        streams.err.write(`warning: the run was not recorded in the history: ${String(failure)}\n`);
      });
  }
  return exitCode;
}
