// Command-line flags as data: one list per command drives parsing, --help and the
// README's CLI reference (a test checks the README against these lists).

import { UsageError } from '../errors.ts';
import { suggest } from '../config/suggest.ts';

export interface FlagSpec {
  name: string;
  /** Placeholder for a flag that takes a value ("PATH"); absent for switches. */
  value?: string;
  choices?: readonly string[];
  /**
   * The value may be left out (`--rollback`, `--rollback=2`, `--rollback 2`): then only an
   * inline value or a next word that matches the pattern is taken.
   */
  optionalValue?: RegExp;
  description: string;
  /**
   * A common flag this command accepts but has no use for: why (parsing drops it and says
   * so in one line), so every command takes the same common flags.
   */
  notApplicable?: string;
}

export type CommandName = 'deploy' | 'destroy' | 'status' | 'run' | 'init';

export interface CommandSpec<Name extends string = CommandName> {
  command: Name;
  usage: string;
  summary: string;
  flags: readonly FlagSpec[];
}

/** The flags every command accepts; `commonFlags` puts them in each spec. */
export const COMMON_FLAGS = ['config', 'json', 'container', 'no-container', 'verbose', 'help', 'version'] as const;
type CommonFlag = (typeof COMMON_FLAGS)[number];

const COMMON: Record<CommonFlag, FlagSpec> = {
  config: { name: 'config', value: 'PATH', description: 'Configuration file (default: deploy.yaml).' },
  json: { name: 'json', description: 'Print one JSON summary object on stdout at the end; progress goes to stderr.' },
  container: {
    name: 'container',
    value: 'MODE',
    choices: ['auto', 'always', 'never'],
    description: 'Run inside the tooling container: auto (default: unless every tool is on the host), always, never.',
  },
  'no-container': { name: 'no-container', description: 'Same as --container never (or set BAKERY_NO_CONTAINER=1).' },
  verbose: { name: 'verbose', description: 'Show every line the tools print.' },
  help: { name: 'help', description: 'Show this help.' },
  version: { name: 'version', description: 'Show the bakery version.' },
};

interface CommonOptions {
  /** A command's own wording of a common flag. */
  describe?: Partial<Record<CommonFlag, string>>;
  /** Common flags the command has no use for, and why. */
  notApplicable?: Partial<Record<CommonFlag, string>>;
}

/** The common flags for one command: --config first, the rest after the command's own flags. */
function commonFlags(options: CommonOptions = {}): { head: FlagSpec[]; tail: FlagSpec[] } {
  const make = (name: CommonFlag): FlagSpec => {
    const description = options.describe?.[name] ?? COMMON[name].description;
    const reason = options.notApplicable?.[name];
    return { ...COMMON[name], description, ...(reason ? { notApplicable: reason } : {}) };
  };
  return { head: [make('config')], tail: COMMON_FLAGS.filter((name) => name !== 'config').map(make) };
}

/** Where no tool runs (or tools run on this machine only), the tooling container has nothing to do. */
const NO_CONTAINER_HERE = (why: string) => ({ container: why, 'no-container': why });

const DEPLOY_COMMON = commonFlags();
const DESTROY_COMMON = commonFlags();
const STATUS_COMMON = commonFlags({
  describe: { json: 'Print one JSON object on stdout instead of text.' },
  notApplicable: {
    ...NO_CONTAINER_HERE('status only reads (Docker or the AWS API) from this machine'),
    verbose: 'status prints its own report, never what the tools print',
  },
});
const RUN_COMMON = commonFlags({
  describe: { verbose: "Show every line bakery's own tools print." },
  notApplicable: {
    ...NO_CONTAINER_HERE('the one-off runs from this machine (a container on the target, or an instance)'),
    json: "the output is the command's own",
  },
});
const INIT_COMMON = commonFlags({
  describe: {
    config: 'The file to write (default: deploy.yaml); the app is looked for in its directory.',
    json: 'Print the guesses as one JSON object on stdout instead of lines.',
    verbose: 'Also say what was looked for and not found.',
  },
  notApplicable: NO_CONTAINER_HERE("init only reads the app's files; no tool runs"),
});

export const DEPLOY_SPEC: CommandSpec<'deploy'> = {
  command: 'deploy',
  usage: './deploy.ts [ENV] [flags]',
  summary:
    'Bake the image (unless one with the same fingerprint exists), roll it out to ENV (default: local) without dropping requests, wait until it is healthy, print its URL.',
  flags: [
    ...DEPLOY_COMMON.head,
    {
      name: 'rebake',
      value: '[=all]',
      // Only inline (--rebake=all): a next word is ENV, and an environment may be named "all".
      optionalValue: /(?!)/,
      description:
        'Bake the image again even if one with the same fingerprint exists; --rebake=all also rebakes the base layer.',
    },
    {
      name: 'image',
      value: 'ID',
      description: 'Deploy this already-baked image (docker image id/tag or AMI id), e.g. to roll back; no bake.',
    },
    {
      name: 'rollback',
      value: '[N]',
      optionalValue: /^\d+$/,
      description:
        'Redeploy the image of the N-th previous successful release from the history (default 1: the one before the release in service); no bake. Exit 2 when there is none or its image is gone.',
    },
    {
      name: 'strategy',
      value: 'NAME',
      choices: ['rolling', 'recreate'],
      description:
        'rolling (default): start new instances, then drain and stop old ones; recreate: stop all, then start new (drops requests; for comparison).',
    },
    {
      name: 'preview',
      value: 'NAME',
      description:
        'Deploy the preview environment NAME (pr-12, or a pull request number: 12) from the previews template of deploy.yaml instead of ENV; made on its first deploy, with its own database and, on local, its own port.',
    },
    { name: 'dry-run', description: 'Say what each stage would do; change nothing.' },
    ...DEPLOY_COMMON.tail,
  ],
};

export const DESTROY_SPEC: CommandSpec<'destroy'> = {
  command: 'destroy',
  usage: './destroy.ts [ENV] [flags]',
  summary:
    'Remove everything bakery made for ENV (default: local): instances, load balancer, network or AWS stack, and the baked images.',
  flags: [
    ...DESTROY_COMMON.head,
    { name: 'keep-images', description: 'Keep the baked images (Docker images or AMIs and their snapshots).' },
    {
      name: 'preview',
      value: 'NAME',
      description:
        'Destroy the preview environment NAME instead of ENV, with its database and no final backup (unless --backup).',
    },
    {
      name: 'previews',
      description:
        'Destroy every preview on this machine older than --older-than (default: previews.ttl_hours), each as --preview NAME would.',
    },
    {
      name: 'older-than',
      value: 'AGE',
      description: 'With --previews: the age since its first deploy that makes a preview stale, e.g. 72h, 3d, 30m.',
    },
    { name: 'backup', description: "With --preview or --previews: take the database's final backup anyway." },
    {
      name: 'yes',
      description: 'Do not ask for confirmation (required for non-local environments when stdin is not a terminal).',
    },
    { name: 'dry-run', description: 'Say what would be removed; change nothing.' },
    ...DESTROY_COMMON.tail,
  ],
};

export const STATUS_SPEC: CommandSpec<'status'> = {
  command: 'status',
  usage: './status.ts [ENV] [flags]',
  summary:
    'Show what runs in ENV (default: local): the image in service, each instance with its image and load-balancer health, whether the URL answers, and every difference from the last deployment. Exit 0 when all is as deployed, 1 when something differs. Reads only: no lock, no history entry.',
  flags: [
    ...STATUS_COMMON.head,
    {
      name: 'history',
      value: '[N]',
      optionalValue: /^\d+$/,
      description: 'Show the newest N (default 10) deploys, rollbacks and destroys of ENV instead.',
    },
    {
      name: 'preview',
      value: 'NAME',
      description: 'Show the preview environment NAME instead of ENV.',
    },
    {
      name: 'previews',
      description: 'List the preview environments on this machine instead: name, age, last deploy, URL.',
    },
    {
      name: 'logs',
      description:
        "Show the instances' logs instead: local: the service's journal, each line prefixed with the instance; aws: the same journal from the environment's CloudWatch Logs group, then target-health reasons.",
    },
    { name: 'follow', description: 'With --logs: keep printing new lines until Ctrl-C.' },
    {
      name: 'instance',
      value: 'NAME',
      description: 'With --logs: only this instance (container name or EC2 instance id).',
    },
    {
      name: 'since',
      value: 'AGE',
      description: 'With --logs: only lines from the last AGE, e.g. 30s, 10m, 2h, 1d (default: the last 100 lines).',
    },
    ...STATUS_COMMON.tail,
  ],
};

export const RUN_SPEC: CommandSpec<'run'> = {
  command: 'run',
  usage: './run.ts [ENV] [flags] -- COMMAND [ARGS…]',
  summary:
    "Run COMMAND once on the image in service in ENV (default: local), with the environment's settings (env, secrets), as the service user in the app's directory with the venv first on PATH: interactive with a TTY when stdin is one. Local: a one-off container on the environment's network, removed after. The exit code is COMMAND's; each run is in the history. Takes no lock.",
  flags: [
    ...RUN_COMMON.head,
    { name: 'preview', value: 'NAME', description: 'Run it in the preview environment NAME instead of ENV.' },
    ...RUN_COMMON.tail,
  ],
};

export const INIT_SPEC: CommandSpec<'init'> = {
  command: 'init',
  usage: './init.ts [flags]',
  summary:
    "Write a commented deploy.yaml for the local target from what the app's directory shows: a Procfile's web: and release: lines, Django (manage.py, wsgi.py, STATIC_ROOT, DATABASE_URL), a Flask or FastAPI app object, requirements.txt, a health route. Prints each guess and why. Never overwrites a file (exit 2).",
  flags: [
    ...INIT_COMMON.head,
    {
      name: 'app',
      value: 'NAME',
      description: "The app's name (default: the directory's name, made DNS-safe).",
    },
    {
      name: 'port',
      value: 'PORT',
      description: 'Port on 127.0.0.1 for the local load balancer (default 8080).',
    },
    {
      name: 'base-image',
      value: 'IMAGE',
      description: 'Docker image to bake from (default debian:bookworm).',
    },
    ...INIT_COMMON.tail,
  ],
};

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** One line per common flag that was given but does not apply to this command (it is dropped). */
  notes?: string[];
}

/**
 * Parses --flag, --flag VALUE and --flag=VALUE; unknown flags are bad input. A common flag
 * the command has no use for is checked like any other, then dropped with a note.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const parsed = parseFlags(spec, argv);
  const notes: string[] = [];
  for (const flag of spec.flags) {
    if (!flag.notApplicable || !parsed.flags.has(flag.name)) continue;
    parsed.flags.delete(flag.name);
    notes.push(`--${flag.name} does not apply to ${spec.command}: ${flag.notApplicable}; ignored`);
  }
  return notes.length > 0 ? { ...parsed, notes } : parsed;
}

function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const byName = new Map(spec.flags.map((flag) => [flag.name, flag]));
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index] as string;
    if (word === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const [rawName, inline] = word.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    const flag = byName.get(rawName) ?? (word === '-h' ? byName.get('help') : undefined);
    if (!flag) {
      const hint = suggest(rawName, [...byName.keys()]);
      throw new UsageError(`unknown flag ${word}${hint ? ` (did you mean --${hint}?)` : ''}`, [
        `valid flags: ${spec.flags.map((f) => `--${f.name}`).join(', ')}`,
        `see ${spec.usage.split(' ')[0]} --help`,
      ]);
    }
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`--${flag.name} takes no value (got ${JSON.stringify(inline)})`);
      flags.set(flag.name, true);
      continue;
    }
    if (flag.optionalValue) {
      const next = argv[index + 1];
      if (inline !== undefined) flags.set(flag.name, inline);
      else if (next !== undefined && flag.optionalValue.test(next)) flags.set(flag.name, argv[++index] as string);
      else flags.set(flag.name, true);
      continue;
    }
    const value = inline ?? argv[++index];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(
        `--${flag.name} needs a value: ${flag.value}${flag.choices ? ` (one of ${flag.choices.join(', ')})` : ''}`,
      );
    }
    if (flag.choices && !flag.choices.includes(value)) {
      throw new UsageError(
        `--${flag.name} ${JSON.stringify(value)} is not allowed: expected one of ${flag.choices.join(', ')}`,
      );
    }
    flags.set(flag.name, value);
  }
  return { positionals, flags };
}

export function formatHelp(spec: CommandSpec): string {
  const rows = spec.flags.map(
    (flag) => [`--${flag.name}${flag.value ? ` ${flag.value}` : ''}`, describeFlag(flag)] as const,
  );
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Flags:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    'Exit codes: 0 ok, 1 deployment failed, 2 bad input (config, flags), 130 interrupted.',
    '',
  ].join('\n');
}

/** A flag's description, saying so when the command accepts it only to ignore it. */
export function describeFlag(flag: FlagSpec): string {
  return flag.notApplicable ? `Accepted, does not apply: ${flag.notApplicable}.` : flag.description;
}
