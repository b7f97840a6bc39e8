// What a command loads before it runs: the modules reachable through static imports
// (dynamic import() is what defers the rest). `bakery --help` loads no command, and
// nothing the local target runs loads the AWS SDK, which only an aws environment needs.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// `import x from '…'`, `import { a } from '…'`, `export { a } from '…'`, `import '…'`; not `import type`.
const STATIC_IMPORT = /^(?:import|export)(?!\s+type\b)(?:[^'";]*?\sfrom)?\s*'([^']+)';/gms;

/** Every module reachable from `entry` through static imports: repository files and package names. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (specifier === undefined || specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
  };
  visit(join(REPO_ROOT, entry));
  return { files, packages };
}

const imports = suite('start-up loads only what the command needs');

imports('the dispatcher behind bakery --help imports no command and no dependency', () => {
  const { files, packages } = staticGraph('pipeline/cli/main.ts');
  assert.equal([...packages], []);
  assert.not.ok(
    [...files].some((file) => file.endsWith('-command.ts')),
    [...files].join('\n'),
  );
});

for (const entry of [
  'pipeline/cli/deploy-command.ts',
  'pipeline/cli/destroy-command.ts',
  'pipeline/cli/status-command.ts',
  'pipeline/cli/run-command.ts',
  'pipeline/targets/local/index.ts',
]) {
  imports(`${entry} does not load the AWS SDK before an aws environment asks for it`, () => {
    const { packages } = staticGraph(entry);
    const aws = [...packages].filter((name) => name.startsWith('@aws-sdk/'));
    assert.equal(aws, []);
  });
}

imports('the graph walk sees the SDK where it is imported (the aws target)', () => {
  const { packages } = staticGraph('pipeline/targets/aws/index.ts');
  assert.ok([...packages].some((name) => name.startsWith('@aws-sdk/')));
});

imports.run();
