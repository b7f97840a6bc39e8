import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DEPLOY_SPEC, DESTROY_SPEC, RUN_SPEC, STATUS_SPEC, type CommandSpec } from '../../pipeline/cli/flags.ts';
import { configJsonSchema } from '../../pipeline/config/schema.ts';
import { generatedBlocks, readBlock, schemaText } from '../../scripts/generate-schema.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const REGENERATE = 'run: npx tsx scripts/generate-schema.ts --readme';

/** The text of a `## heading` section, up to the next `## `. */
function section(heading: string, text = README, level = '##'): string {
  const start = text.indexOf(`\n${level} ${heading}\n`);
  assert.ok(start !== -1, `README.md has no "${level} ${heading}" section`);
  const rest = text.slice(start + heading.length + level.length + 3);
  const next = rest.search(new RegExp(`\\n${level} `));
  return next === -1 ? rest : rest.slice(0, next);
}

/** The first cells of a markdown table's body rows, without backticks. */
function firstCells(table: string): string[] {
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => (/^\| `([^`]+)`/.exec(line) as RegExpExecArray)[1] as string);
}

interface Node {
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
}

/** Every key path of the JSON Schema, walked independently of the generator. */
function schemaKeyPaths(node: Node, path = ''): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const childPath = path ? `${path}.${key}` : key;
    paths.push(childPath, ...schemaKeyPaths(child, childPath));
  }
  if (typeof node.additionalProperties === 'object') {
    paths.push(`${path}.<name>`, ...schemaKeyPaths(node.additionalProperties, `${path}.<name>`));
  }
  return paths;
}

function flagsOf(spec: CommandSpec): string[] {
  return spec.flags.map((flag) => `--${flag.name}${flag.value ? ` ${flag.value}` : ''}`);
}

// ---------------------------------------------------------------------------------------

const structure = suite('the README');

structure('has the sections people look for, in order', () => {
  const headings = README.split('\n').filter((line) => /^#{1,2} /.test(line));
  const wanted = [
    '# bakery',
    "## Use bakery in your app's repository",
    '## Quick start',
    '## How it works',
    '## CLI reference',
    '## deploy.yaml reference',
    '## State and logs',
    '## Targets',
  ];
  assert.equal(
    headings.filter((heading) => wanted.includes(heading)),
    wanted,
  );
});

structure('draws the stages in a mermaid diagram', () => {
  const diagram = section('How it works');
  assert.match(diagram, '```mermaid\nflowchart');
  for (const stage of ['config', 'preflight', 'bake', 'provision', 'rollout', 'verify', 'deprovision', 'images']) {
    assert.match(diagram, new RegExp(`\\b${stage}\\[`), `the diagram has no ${stage} node`);
  }
});

structure('documents every exit code', () => {
  const cli = section('CLI reference');
  for (const code of ['0', '1', '2', '130']) assert.match(cli, new RegExp(`^\\| ${code} \\|`, 'm'));
});

structure.run();

// ---------------------------------------------------------------------------------------

const cliReference = suite('the README CLI reference matches the flag specs');

for (const spec of [DEPLOY_SPEC, DESTROY_SPEC, STATUS_SPEC, RUN_SPEC]) {
  const script = `./${spec.command}.ts`;
  cliReference(`lists every ${script} flag and nothing else`, () => {
    const part = section(`\`${script} [ENV] [flags]\``, section('CLI reference'), '###');
    const listed = firstCells(part);
    assert.equal(
      [...listed].sort(),
      flagsOf(spec).sort(),
      `the README's ${script} flags differ from ${spec.command.toUpperCase()}_SPEC; ${REGENERATE}`,
    );
  });

  cliReference(`has an up-to-date generated ${script} flag table`, () => {
    assert.is(readBlock(README, `${spec.command}-flags`), generatedBlocks()[`${spec.command}-flags`], REGENERATE);
  });
}

cliReference('has an up-to-date generated ./init.ts flag table', () => {
  assert.is(readBlock(README, 'init-flags'), generatedBlocks()['init-flags'], REGENERATE);
});

cliReference.run();

// ---------------------------------------------------------------------------------------

const yamlReference = suite('the README deploy.yaml reference matches the schema');

yamlReference('lists every key path of the schema and nothing else', () => {
  const listed = firstCells(section('deploy.yaml reference'));
  const expected = schemaKeyPaths(configJsonSchema() as Node);
  assert.ok(expected.length > 30, `only ${expected.length} key paths found in the schema`);
  const missing = expected.filter((path) => !listed.includes(path));
  const extra = listed.filter((path) => !expected.includes(path));
  assert.equal({ missing, extra }, { missing: [], extra: [] }, REGENERATE);
  assert.is(new Set(listed).size, listed.length, 'a key is listed twice');
});

yamlReference('has an up-to-date generated table (types, defaults, allowed values)', () => {
  assert.is(readBlock(README, 'deploy-yaml'), generatedBlocks()['deploy-yaml'], REGENERATE);
});

yamlReference('shows the defaults the loader applies', () => {
  const table = section('deploy.yaml reference');
  assert.match(table, '| `environments.<name>.instances.desired` | integer | `2` | 1 to 20 |');
  assert.match(table, '| `environments.<name>.local.base_image` | string | `"debian:bookworm"` |');
  assert.match(table, '| `app` | string | required |');
});

yamlReference.run();

// ---------------------------------------------------------------------------------------

const schemaFile = suite('schema/deploy.schema.json');

schemaFile('equals configJsonSchema()', () => {
  const committed = readFileSync(join(REPO_ROOT, 'schema', 'deploy.schema.json'), 'utf8');
  assert.equal(JSON.parse(committed), configJsonSchema(), 'run: npx tsx scripts/generate-schema.ts');
  assert.is(committed, schemaText(), 'run: npx tsx scripts/generate-schema.ts');
});

schemaFile('is the schema deploy.yaml points editors at', () => {
  const firstLine = readFileSync(join(REPO_ROOT, 'deploy.yaml'), 'utf8').split('\n')[0];
  assert.is(firstLine, '# yaml-language-server: $schema=./schema/deploy.schema.json');
});

schemaFile('accepts only the keys deploy.yaml allows', () => {
  const schema = configJsonSchema() as { additionalProperties: boolean; required: string[] };
  assert.is(schema.additionalProperties, false);
  assert.equal(schema.required, ['app', 'environments']);
});

schemaFile.run();
