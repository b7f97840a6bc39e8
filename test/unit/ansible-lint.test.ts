// ansible/ passes ansible-lint's production profile and yamllint (settings in
// .ansible-lint and .yamllint at the repository root), and the playbook parses.

import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { ANSIBLE_DIR, runTool, tailOf } from '../helpers/bake.ts';

const Lint = suite('ansible/ is lint-clean');

Lint('ansible-lint --profile production reports no violation', async () => {
  const result = await runTool('ansible-lint', ['--profile', 'production', '--nocolor', '--offline', 'ansible/'], {
    env: { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), NO_COLOR: '1' },
    timeoutMs: 300_000,
  });
  assert.is(result.code, 0, `ansible-lint failed:\n${tailOf(result, 80)}`);
  assert.match(`${result.stdout}${result.stderr}`, /Passed with production profile/);
});

Lint('yamllint --strict finds nothing in ansible/ and the lint settings', async () => {
  const result = await runTool('yamllint', [
    '--strict',
    '--format',
    'parsable',
    'ansible',
    '.ansible-lint',
    '.yamllint',
  ]);
  assert.is(result.code, 0, `yamllint failed:\n${tailOf(result, 80)}`);
  assert.is(result.stdout.trim(), '');
});

Lint('ansible-playbook --syntax-check parses the bake playbook', async () => {
  const result = await runTool(
    'ansible-playbook',
    ['--syntax-check', '--inventory', 'localhost,', join(ANSIBLE_DIR, 'playbook.yml')],
    {
      env: { ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') },
    },
  );
  assert.is(result.code, 0, `syntax check failed:\n${tailOf(result)}`);
});

Lint.run();
