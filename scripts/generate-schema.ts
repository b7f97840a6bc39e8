#!/usr/bin/env -S node --import tsx
// Writes schema/deploy.schema.json (the JSON Schema editors use for deploy.yaml) from
// the one schema in pipeline/config/schema.ts. With --readme it also regenerates the
// README's generated blocks: the deploy.yaml reference table and the flag tables of
// the CLI reference. With --check it changes nothing and exits 1 when either is stale.
//
//   npx tsx scripts/generate-schema.ts [--readme] [--check]
//
// test/unit/readme.test.ts fails when the committed files differ from what this writes.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOY_SPEC, DESTROY_SPEC, RUN_SPEC, STATUS_SPEC, type CommandSpec } from '../pipeline/cli/flags.ts';
import { configJsonSchema } from '../pipeline/config/schema.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = join(ROOT, 'schema', 'deploy.schema.json');
export const README_PATH = join(ROOT, 'README.md');

type JsonSchema = {
  type?: string | string[];
  enum?: string[];
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: { pattern?: string };
};

/** One documented key of deploy.yaml. */
export interface KeyRow {
  /** Dotted path; user-chosen names appear as <name>. */
  path: string;
  type: string;
  /** "required", a default value, or "" when optional without a default. */
  presence: string;
  allowed: string;
  description: string;
}

export function schemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type })).join(' or ');
  if (schema.enum) return 'string';
  if (schema.type === 'object') return 'mapping';
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
  return schema.type ?? 'any';
}

function code(text: string): string {
  return `\`${text}\``;
}

function allowedOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map(code).join(', ');
  const parts: string[] = [];
  if (schema.minimum !== undefined && schema.maximum !== undefined)
    parts.push(`${schema.minimum} to ${schema.maximum}`);
  if (schema.pattern) parts.push(`matches ${code(schema.pattern)}`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.type === 'array') {
    if (schema.minItems !== undefined || schema.maxItems !== undefined) {
      parts.push(`${schema.minItems ?? 0} to ${schema.maxItems ?? 'any number of'} items`);
    }
    if (schema.items) {
      const item = allowedOf(schema.items);
      if (item) parts.push(`each ${item}`);
    }
  }
  if (schema.propertyNames?.pattern) parts.push(`names match ${code(schema.propertyNames.pattern)}`);
  if (schema.minProperties !== undefined) parts.push(`at least ${schema.minProperties}`);
  return parts.join('; ');
}

/** Every key path of the schema, parents before children, in declaration order. */
export function keyRows(schema: JsonSchema = configJsonSchema() as JsonSchema): KeyRow[] {
  const rows: KeyRow[] = [];
  const visit = (node: JsonSchema, path: string, required: boolean): void => {
    if (path) {
      const presence = required
        ? 'required'
        : node.default !== undefined
          ? code(JSON.stringify(node.default))
          : node.type === 'object' && !node.required?.length
            ? 'all defaults'
            : '';
      rows.push({ path, type: typeOf(node), presence, allowed: allowedOf(node), description: node.description ?? '' });
    }
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      visit(child, path ? `${path}.${key}` : key, node.required?.includes(key) ?? false);
    }
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties, `${path}.<name>`, false);
  };
  visit(schema, '', true);
  return rows;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderKeyTable(rows: KeyRow[] = keyRows()): string {
  return [
    '| Key | Type | Default | Allowed | Description |',
    '|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${[code(row.path), row.type, row.presence || '—', row.allowed || '—', row.description].map(cell).join(' | ')} |`,
    ),
  ].join('\n');
}

export function renderFlagTable(spec: CommandSpec): string {
  return [
    '| Flag | Description |',
    '|---|---|',
    ...spec.flags.map((flag) => {
      const name = code(`--${flag.name}${flag.value ? ` ${flag.value}` : ''}`);
      const choices = flag.choices ? ` One of ${flag.choices.map(code).join(', ')}.` : '';
      return `| ${cell(name)} | ${cell(`${flag.description}${choices}`)} |`;
    }),
  ].join('\n');
}

/** The README's generated blocks, by marker name. */
export function generatedBlocks(): Record<string, string> {
  return {
    'deploy-flags': renderFlagTable(DEPLOY_SPEC),
    'destroy-flags': renderFlagTable(DESTROY_SPEC),
    'status-flags': renderFlagTable(STATUS_SPEC),
    'run-flags': renderFlagTable(RUN_SPEC),
    'deploy-yaml': renderKeyTable(),
  };
}

const begin = (name: string): string => `<!-- generated:${name} (npx tsx scripts/generate-schema.ts --readme) -->`;
const end = (name: string): string => `<!-- end:${name} -->`;

/** The text between a block's markers, or undefined when the markers are missing. */
export function readBlock(readme: string, name: string): string | undefined {
  const start = readme.indexOf(begin(name));
  const stop = readme.indexOf(end(name));
  if (start === -1 || stop === -1 || stop < start) return undefined;
  return readme.slice(start + begin(name).length, stop).trim();
}

export function fillReadme(readme: string): string {
  let out = readme;
  for (const [name, body] of Object.entries(generatedBlocks())) {
    if (readBlock(out, name) === undefined) throw new Error(`README.md has no ${begin(name)} … ${end(name)} block`);
    const start = out.indexOf(begin(name));
    const stop = out.indexOf(end(name));
    out = `${out.slice(0, start)}${begin(name)}\n${body}\n${out.slice(stop)}`;
  }
  return out;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const stale: string[] = [];
  const schema = schemaText();
  let current = '';
  try {
    current = readFileSync(SCHEMA_PATH, 'utf8');
  } catch {
    // Not written yet.
  }
  if (current !== schema) {
    stale.push(SCHEMA_PATH);
    if (!check) {
      mkdirSync(dirname(SCHEMA_PATH), { recursive: true });
      writeFileSync(SCHEMA_PATH, schema);
    }
  }
  if (argv.includes('--readme') || check) {
    const readme = readFileSync(README_PATH, 'utf8');
    const filled = fillReadme(readme);
    if (filled !== readme) {
      stale.push(README_PATH);
      if (!check) writeFileSync(README_PATH, filled);
    }
  }
  for (const path of stale) process.stderr.write(`${check ? 'stale' : 'wrote'} ${path}\n`);
  if (check && stale.length > 0) {
    process.stderr.write('run: npx tsx scripts/generate-schema.ts --readme\n');
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
