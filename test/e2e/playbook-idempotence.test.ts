// The bake playbook run twice on the same host: the second run must change
// nothing. The host is a container from the local Debian 12 base image (no
// Python, no systemd), reached with the community.docker.docker connection,
// the way Packer's docker builder reaches it (as root, systemd not running).

import { randomBytes } from 'node:crypto';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import {
  BASE_IMAGE,
  changedTasks,
  docker,
  recapOf,
  removeDockerObjects,
  runPlaybook,
  tailOf,
  type ToolResult,
} from '../helpers/bake.ts';

interface Context {
  container: string;
  created: boolean;
  first?: ToolResult;
}

const Idempotence = suite<Context>('idempotence: the bake playbook changes nothing on its second run', {
  container: `bakery-idempotence-${randomBytes(3).toString('hex')}`,
  created: false,
});

const extraVars = {
  app_name: 'idempotence-test',
  app_environment: 'test',
  app_version: '1.2.3',
  app_fingerprint: 'ab'.repeat(32),
  app_git_revision: 'abcdef1',
  app_port: 8082,
  app_baked_at: '2026-01-01T00:00:00Z',
};

Idempotence.after(async (context) => {
  if (context.created) await removeDockerObjects([context.container], []);
});

Idempotence('the first run provisions a bare Debian 12 container without failures', async (context) => {
  await docker(
    'run',
    '--detach',
    '--name',
    context.container,
    '--label',
    'bakery.test=playbook-idempotence',
    BASE_IMAGE,
    'sleep',
    'infinity',
  );
  context.created = true;
  const first = await runPlaybook(context.container, extraVars);
  context.first = first;
  assert.is(first.code, 0, `first run failed:\n${tailOf(first, 60)}`);
  const recap = recapOf(first.stdout, context.container);
  assert.is(recap.failed, 0);
  assert.is(recap.unreachable, 0);
  assert.ok(recap.changed > 0, 'the first run on a bare container changes things');
});

Idempotence('the second run reports changed=0', async (context) => {
  if (!context.first || context.first.code !== 0)
    throw new Error('the first run did not succeed (see the first failure)');
  const second = await runPlaybook(context.container, extraVars);
  assert.is(second.code, 0, `second run failed:\n${tailOf(second, 60)}`);
  const recap = recapOf(second.stdout, context.container);
  console.log(`second run: ok=${recap.ok} changed=${recap.changed} failed=${recap.failed}`);
  assert.is(recap.failed, 0);
  assert.is(recap.changed, 0, `tasks that changed on the second run: ${changedTasks(second.stdout).join('; ')}`);
});

Idempotence('the container decisions are reported, not silently skipped', async (context) => {
  const output = context.first?.stdout ?? '';
  assert.match(output, /Not applying \/etc\/sysctl\.d\/\S+: this host is a container/);
  assert.match(output, /Not installing the AppArmor profile: this host is a container/);
  assert.match(output, /Not starting idempotence-test\.service now: systemd is not running/);
});

Idempotence.run();
