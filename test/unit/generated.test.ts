// The input checks of Terraform, Packer and the Ansible roles are generated from
// pipeline/config/schema.ts (scripts/generate-schema.ts, mapping in scripts/generate/limits.ts):
// the committed files must be what the generator writes, and the real ansible-playbook must
// refuse a role argument outside the schema's limits before the role does anything, naming it.
// (Terraform's and Packer's refusals are checked by terraform test and packer-template.test.ts.)

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { generatedFiles } from '../../scripts/generate-schema.ts';
import { nodeAt } from '../../scripts/generate/rules.ts';
import { ANSIBLE_DIR, runTool, tailOf } from '../helpers/bake.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const Fresh = suite('generated input checks are fresh');

for (const [path, text] of Object.entries(generatedFiles())) {
  Fresh(`${path} is what scripts/generate-schema.ts writes`, () => {
    let committed = '';
    try {
      committed = readFileSync(join(REPO_ROOT, path), 'utf8');
    } catch {
      assert.unreachable(`${path} is missing: run: npm run generate`);
    }
    assert.ok(committed === text, `${path} is stale: run: npm run generate`);
  });
}

Fresh('a mapping to a key the schema does not have is refused, naming the key', () => {
  assert.throws(() => nodeAt('environments.<name>.service.prot'), /no key prot/);
});

Fresh.run();

const Roles = suite<{ dir: string }>('ansible-playbook refuses role arguments outside the schema', { dir: '' });

const FINGERPRINT = 'ab'.repeat(32);

Roles.before((context) => {
  context.dir = makeTempDir('bakery-role-args-');
});

Roles.after((context) => {
  removeDir(context.dir);
});

/** Runs one role on localhost with the given extra vars; the checks fail before any task changes the machine. */
async function runRole(dir: string, role: string, vars: Record<string, unknown>): Promise<string> {
  const play = join(dir, `${role}.yml`);
  const text = [
    '- hosts: localhost',
    '  connection: local',
    '  gather_facts: false',
    '  tasks:',
    '    - ansible.builtin.include_role:',
    `        name: ${role}`,
    '',
  ].join('\n');
  writeFileSync(play, text);
  const result = await runTool(
    'ansible-playbook',
    ['--inventory', 'localhost,', '--extra-vars', JSON.stringify(vars), play],
    { env: { ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'), ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' } },
  );
  assert.is.not(result.code, 0, `ansible-playbook accepted ${JSON.stringify(vars)}:\n${tailOf(result)}`);
  return `${result.stdout}${result.stderr}`;
}

Roles('a service port below the schema minimum fails the app role, naming app_port and the limit', async ({ dir }) => {
  const output = await runRole(dir, 'app', { app_port: 80, app_fingerprint: FINGERPRINT, bakery_layer: 'app' });
  assert.match(output, 'app_port (80) must be a whole number from 1024 to 65535');
  assert.match(output, 'environments.<name>.service.port');
});

Roles('a layer that is not one fails the argument spec, naming bakery_layer', async ({ dir }) => {
  const output = await runRole(dir, 'app', { bakery_layer: 'neither', app_fingerprint: FINGERPRINT });
  assert.match(output, 'Validation of arguments failed');
  assert.match(output, 'value of bakery_layer must be one of: all, base, app, got: neither');
});

Roles('an app name longer than the schema allows fails the hardening role, naming the variable', async ({ dir }) => {
  const output = await runRole(dir, 'hardening', { hardening_service_name: 'a'.repeat(21) });
  assert.match(output, `hardening_service_name (${'a'.repeat(21)}) must be`);
  assert.match(output, 'at most 20 characters (deploy.yaml app)');
});

Roles.run();
