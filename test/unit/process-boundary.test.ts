// One way to run a tool: only pipeline/process/ may start processes. Anywhere else in
// pipeline/, a child_process or execa import would be a call whose output never reaches
// the run log or the redactor (see pipeline/process/runner.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const PIPELINE = join(REPO_ROOT, 'pipeline');
const PROCESS = join(PIPELINE, 'process');

// Static imports and re-exports, dynamic import() and require(), of node's module or execa.
const STARTS_PROCESSES =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"](?:node:)?(?:child_process|execa)(?:\/[^'"]*)?['"]/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(?:[cm]?[jt]s)$/.test(entry.name) ? [path] : [];
  });
}

const Boundary = suite('processes start only in pipeline/process');

Boundary('the pattern catches every way of importing them', () => {
  for (const line of [
    "import { spawn } from 'node:child_process';",
    'import { execFile } from "child_process";',
    "import * as cp from 'child_process';",
    "import { execa } from 'execa';",
    "export { execa } from 'execa';",
    "const cp = await import('node:child_process');",
    "const { spawn } = require('child_process');",
    "import 'child_process';",
  ])
    assert.ok(STARTS_PROCESSES.test(line), line);
  assert.not.ok(STARTS_PROCESSES.test("import { runAttached } from '../process/runner.ts';"));
});

Boundary('no file under pipeline/ outside pipeline/process imports child_process or execa', () => {
  const files = sourceFiles(PIPELINE).filter((file) => !file.startsWith(`${PROCESS}${sep}`));
  assert.ok(files.length > 50, `found only ${files.length} files under pipeline/`);
  const offenders = files
    .filter((file) => STARTS_PROCESSES.test(readFileSync(file, 'utf8')))
    .map((file) => relative(REPO_ROOT, file));
  assert.equal(offenders, [], `run tools through pipeline/process/runner.ts instead: ${offenders.join(', ')}`);
});

Boundary.run();
