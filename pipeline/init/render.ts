// The deploy.yaml init writes: the guesses as keys, each with the reason as a comment
// above it, and the local environment with the settings a first deploy needs.

import type { AnyGuess, GuessKey, GuessValue } from './guess.ts';
import { valueOf } from './guess.ts';

export interface LocalChoices {
  port: number;
  /** Absent: the schema's default (debian:bookworm). */
  baseImage?: string;
}

/** A YAML scalar: plain when nothing in it could be read as YAML syntax, else JSON-quoted. */
export function scalar(value: string | number): string {
  if (typeof value === 'number') return String(value);
  return /^[A-Za-z0-9_./(][A-Za-z0-9_./:()@-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value)
    ? value
    : JSON.stringify(value);
}

const SERVICE_KEYS = [
  'service.entrypoint',
  'service.interface',
  'service.requirements',
  'service.packages',
  'service.health_path',
  'service.build',
  'service.release',
] as const satisfies readonly GuessKey[];

function serviceLines(guesses: readonly AnyGuess[]): string[] {
  const lines: string[] = [];
  for (const key of SERVICE_KEYS) {
    const found = guesses.find((entry) => entry.key === key);
    if (!found) continue;
    const name = key.slice('service.'.length);
    lines.push(`  # ${found.why}`);
    const value = found.value as GuessValue[typeof key];
    if (Array.isArray(value)) {
      lines.push(`  ${name}:`, ...value.map((item) => `    - ${scalar(item)}`));
    } else {
      lines.push(`  ${name}: ${scalar(value)}`);
    }
    if (key === 'service.requirements') {
      lines.push('  # index_url: https://pypi.example.com/simple   # default PyPI; extra_index_urls: [...]');
    }
  }
  return lines;
}

export function renderDeployYaml(guesses: readonly AnyGuess[], local: LocalChoices): string {
  const app = guesses.find((entry) => entry.key === 'app');
  const database = guesses.find((entry) => entry.key === 'database');
  return [
    '# deploy.yaml, written by `bakery init` from what it found in this directory. Check each',
    '# guess (the comment above it says why), then deploy: `bakery deploy`. Every key is',
    '# described in bakery\'s README, "deploy.yaml reference"; omitted keys take its defaults.',
    `app: ${scalar(String(valueOf(guesses, 'app')))}   # ${app?.why ?? ''}`,
    '',
    '# The app and how it is served, for every environment.',
    'service:',
    '  source: .   # this directory: deploy.yaml sits beside the app (.deploy/ holds the state)',
    ...serviceLines(guesses),
    '',
    'environments:',
    '  local:',
    '    target: local   # Docker + HAProxy on this machine',
    '    instances: { min: 1, desired: 2, max: 4 }',
    ...(database
      ? [`    # ${database.why}`, '    database: { engine: postgres }   # reaches the app as DATABASE_URL']
      : []),
    '    # Runtime settings, never baked: env: { KEY: value }, secrets: { KEY: env:VARIABLE }',
    '    # service:',
    '    #   env: { LOG_LEVEL: info }',
    '    local:',
    `      port: ${local.port}   # the URL: http://127.0.0.1:${local.port}/`,
    local.baseImage === undefined
      ? '      # base_image: debian:bookworm'
      : `      base_image: ${scalar(local.baseImage)}`,
    '',
    '  # An AWS environment: uncomment, set the region, and run `bakery deploy staging`.',
    '  # staging:',
    '  #   target: aws',
    '  #   aws:',
    '  #     region: eu-west-1',
    '  #     state: { backend: s3, bucket: my-terraform-state }',
    '',
  ].join('\n');
}
