#!/usr/bin/env -S node --import tsx
// Writes, from the one schema in pipeline/config/schema.ts: schema/deploy.schema.json
// (the JSON Schema editors use for deploy.yaml) and the input checks of every other layer
// (terraform/variables.gen.tf, packer/variables.gen.pkr.hcl, each role's
// meta/argument_specs.yml and tasks/arguments.yml; the mapping is scripts/generate/limits.ts).
// With --readme it also regenerates the README's generated blocks: the deploy.yaml
// reference table and the flag tables of the CLI reference. With --check it changes
// nothing and exits 1 when any of them is stale.
//
//   npm run generate    (npx tsx scripts/generate-schema.ts --readme)
//   npx tsx scripts/generate-schema.ts [--readme] [--check]
//
// test/unit/readme.test.ts and test/unit/generated.test.ts fail when the committed files
// differ from what this writes.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEPLOY_SPEC,
  DESTROY_SPEC,
  INIT_SPEC,
  RUN_SPEC,
  STATUS_SPEC,
  describeFlag,
  type CommandSpec,
} from '../pipeline/cli/flags.ts';
import { configJsonSchema } from '../pipeline/config/schema.ts';
import { renderArgumentSpecs, renderArgumentTasks } from './generate/ansible.ts';
import { renderPacker, renderTerraform } from './generate/hcl.ts';
import { mappingRows, PACKER, ROLES, TERRAFORM } from './generate/limits.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = join(ROOT, 'schema', 'deploy.schema.json');
export const README_PATH = join(ROOT, 'README.md');

type JsonSchema = {
  type?: string | string[];
  enum?: Array<string | number>;
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

/** Every generated file but the README, by path from the repository root. */
export function generatedFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'schema/deploy.schema.json': schemaText(),
    'terraform/variables.gen.tf': renderTerraform(TERRAFORM),
    'packer/variables.gen.pkr.hcl': renderPacker(PACKER),
  };
  for (const role of ROLES) {
    files[`ansible/roles/${role.name}/meta/argument_specs.yml`] = renderArgumentSpecs(role);
    files[`ansible/roles/${role.name}/tasks/arguments.yml`] = renderArgumentTasks(role);
  }
  return files;
}

export function schemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type })).join(' or ');
  if (schema.enum) return schema.type === 'integer' ? 'integer' : 'string';
  if (schema.type === 'object') return 'mapping';
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
  return schema.type ?? 'any';
}

function code(text: string): string {
  return `\`${text}\``;
}

function allowedOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => code(String(value))).join(', ');
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
      return `| ${cell(name)} | ${cell(`${describeFlag(flag)}${flag.notApplicable ? '' : choices}`)} |`;
    }),
  ].join('\n');
}

/** Which Terraform, Packer and Ansible variable carries each deploy.yaml key whose limits they check. */
export function renderMappingTable(): string {
  const list = (names: string[]): string => (names.length ? names.map(code).join(', ') : '—');
  return [
    '| deploy.yaml key | Terraform | Packer | Ansible (role: variable) |',
    '|---|---|---|---|',
    ...mappingRows().map(
      (row) =>
        `| ${[code(row.schemaPath), list(row.terraform), list(row.packer), list(row.ansible)].map(cell).join(' | ')} |`,
    ),
  ].join('\n');
}

/** The README's generated blocks, by marker name. */
export function generatedBlocks(): Record<string, string> {
  return {
    'deploy-flags': renderFlagTable(DEPLOY_SPEC),
    'destroy-flags': renderFlagTable(DESTROY_SPEC),
    'status-flags': renderFlagTable(STATUS_SPEC),
    'run-flags': renderFlagTable(RUN_SPEC),
    'init-flags': renderFlagTable(INIT_SPEC),
    'deploy-yaml': renderKeyTable(),
    'input-mapping': renderMappingTable(),
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
  for (const [relative, text] of Object.entries(generatedFiles())) {
    const path = join(ROOT, relative);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // Not written yet.
    }
    if (current === text) continue;
    stale.push(path);
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
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
    process.stderr.write('run: npm run generate\n');
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
