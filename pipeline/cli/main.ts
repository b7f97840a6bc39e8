// `bakery COMMAND [ENV] [flags]`: picks the subcommand and hands it the rest of the
// arguments. Each command's module is imported only when it is the one asked for, so
// `bakery --help` and a local deploy load nothing they do not use.

import { EXIT } from '../errors.ts';
import { bakeryVersion } from '../install.ts';
import { suggest } from '../config/suggest.ts';
import type { Streams } from './session.ts';

type Command = (argv: readonly string[]) => Promise<number>;

interface Subcommand {
  summary: string;
  load(): Promise<Command>;
}

export const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  deploy: {
    summary: 'bake, roll out to ENV (default: local), verify, print the URL',
    load: async () => (await import('./deploy-command.ts')).deployCommand,
  },
  destroy: {
    summary: "remove ENV's instances, load balancer and images",
    load: async () => (await import('./destroy-command.ts')).destroyCommand,
  },
  status: {
    summary: 'what runs in ENV, its history and logs',
    load: async () => (await import('./status-command.ts')).statusCommand,
  },
  run: {
    summary: 'run a one-off command on the release in service: bakery run ENV -- CMD',
    load: async () => (await import('./run-command.ts')).runCommand,
  },
  init: {
    summary: 'write a deploy.yaml for the app in this directory',
    load: async () => (await import('./init-command.ts')).initCommand,
  },
};

export function formatMainHelp(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length)) + 2;
  return [
    'Usage: bakery COMMAND [ENV] [flags]',
    '',
    'Bake a machine image for a Python web app, roll it out behind a load balancer, print its URL.',
    'Run it in the directory holding deploy.yaml (or give --config PATH).',
    '',
    'Commands:',
    ...Object.entries(SUBCOMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}${summary}`),
    '',
    'bakery COMMAND --help shows the flags of one command. bakery --version shows the version.',
    '',
  ].join('\n');
}

type MainStreams = Pick<Streams, 'out' | 'err'>;

const PROCESS_STREAMS: MainStreams = { out: process.stdout, err: process.stderr };

/** Runs `bakery ARGV`; resolves to the exit code. */
export async function bakeryMain(argv: readonly string[], streams: MainStreams = PROCESS_STREAMS): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? streams.err : streams.out).write(formatMainHelp());
    return first === undefined ? EXIT.badInput : EXIT.ok;
  }
  if (first === '--version') {
    streams.out.write(`bakery ${bakeryVersion()}\n`);
    return EXIT.ok;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first] : undefined;
  if (!subcommand) {
    const names = Object.keys(SUBCOMMANDS);
    const close = suggest(first, names);
    streams.err.write(
      `error: unknown command ${JSON.stringify(first)}${close ? ` (did you mean ${close}?)` : ''}: expected one of ${names.join(', ')} (bakery --help)\n`,
    );
    return EXIT.badInput;
  }
  return (await subcommand.load())(rest);
}

/** The executable's top level: runs `bakery ARGV` and sets the exit code; the one catch. */
export async function startBakery(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await bakeryMain(argv);
  } catch (error) {
    // Loaded only here: the session's module graph is the heavy part of a run.
    const { writeError } = await import('./session.ts');
    process.exitCode = writeError(error, PROCESS_STREAMS);
  }
}
