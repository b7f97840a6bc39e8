import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// A merge that was committed half-resolved once shipped two versions of a README section
// side by side; nothing else would have noticed.
const Markers = suite('the repository');

Markers('no tracked file holds a merge-conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((name) => /\.(md|ts|tf|hcl|ya?ml|json|j2|py|sh|cfg)$/.test(name));
  assert.ok(files.length > 50, 'git ls-files found the repository');
  const marked = files.filter((name) => /^(<{7} |={7}$|>{7} )/m.test(readFileSync(join(REPO_ROOT, name), 'utf8')));
  assert.equal(marked, [], `conflict markers in ${marked.join(', ')}`);
});

Markers.run();
