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
}

export interface CommandSpec<Name extends string = 'deploy' | 'destroy' | 'status' | 'run'> {
  command: Name;
  usage: string;
  summary: string;
  flags: readonly FlagSpec[];
}

const COMMON_HEAD: FlagSpec[] = [
  { name: 'config', value: 'PATH', description: 'Configuration file (default: deploy.yaml).' },
];

const COMMON_TAIL: FlagSpec[] = [
  { name: 'json', description: 'Print one JSON summary object on stdout at the end; progress goes to stderr.' },
  {
    name: 'container',
    value: 'MODE',
    choices: ['auto', 'always', 'never'],
    description: 'Run inside the tooling container: auto (default: unless every tool is on the host), always, never.',
  },
  { name: 'no-container', description: 'Same as --container never (or set BAKERY_NO_CONTAINER=1).' },
  { name: 'verbose', description: 'Show every line the tools print.' },
  { name: 'help', description: 'Show this help.' },
  { name: 'version', description: 'Show the bakery version.' },
];

export const DEPLOY_SPEC: CommandSpec<'deploy'> = {
  command: 'deploy',
  usage: './deploy.ts [ENV] [flags]',
  summary:
    'Bake the image (unless one with the same fingerprint exists), roll it out to ENV (default: local) without dropping requests, wait until it is healthy, print its URL.',
  flags: [
    ...COMMON_HEAD,
    {
      name: 'rebake',
      value: '[=all]',
      // Only inline (--rebake=all): a next word is ENV, and an environment may be named "all".
      optionalValue: /(?!)/,
      description:
        'Bake the image again even if one with the same fingerprint exists; --rebake=all also rebakes the base layer (local).',
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
    { name: 'dry-run', description: 'Say what each stage would do; change nothing.' },
    ...COMMON_TAIL,
  ],
};

export const DESTROY_SPEC: CommandSpec<'destroy'> = {
  command: 'destroy',
  usage: './destroy.ts [ENV] [flags]',
  summary:
    'Remove everything bakery made for ENV (default: local): instances, load balancer, network or AWS stack, and the baked images.',
  flags: [
    ...COMMON_HEAD,
    { name: 'keep-images', description: 'Keep the baked images (Docker images or AMIs and their snapshots).' },
    {
      name: 'yes',
      description: 'Do not ask for confirmation (required for non-local environments when stdin is not a terminal).',
    },
    { name: 'dry-run', description: 'Say what would be removed; change nothing.' },
    ...COMMON_TAIL,
  ],
};

export const STATUS_SPEC: CommandSpec<'status'> = {
  command: 'status',
  usage: './status.ts [ENV] [flags]',
  summary:
    'Show what runs in ENV (default: local): the image in service, each instance with its image and load-balancer health, whether the URL answers, and every difference from the last deployment. Exit 0 when all is as deployed, 1 when something differs. Reads only: no lock, no history entry.',
  flags: [
    ...COMMON_HEAD,
    {
      name: 'history',
      value: '[N]',
      optionalValue: /^\d+$/,
      description: 'Show the newest N (default 10) deploys, rollbacks and destroys of ENV instead.',
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
    { name: 'json', description: 'Print one JSON object on stdout instead of text.' },
    { name: 'help', description: 'Show this help.' },
    { name: 'version', description: 'Show the bakery version.' },
  ],
};

export const RUN_SPEC: CommandSpec<'run'> = {
  command: 'run',
  usage: './run.ts [ENV] [flags] -- COMMAND [ARGS…]',
  summary:
    "Run COMMAND once on the image in service in ENV (default: local), with the environment's settings (env, secrets), as the service user in the app's directory with the venv first on PATH: interactive with a TTY when stdin is one. Local: a one-off container on the environment's network, removed after. The exit code is COMMAND's; each run is in the history. Takes no lock.",
  flags: [
    ...COMMON_HEAD,
    { name: 'verbose', description: "Show every line bakery's own tools print." },
    { name: 'help', description: 'Show this help.' },
    { name: 'version', description: 'Show the bakery version.' },
  ],
};

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/** Parses --flag, --flag VALUE and --flag=VALUE; unknown flags are bad input. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
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
    (flag) => [`--${flag.name}${flag.value ? ` ${flag.value}` : ''}`, flag.description] as const,
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
