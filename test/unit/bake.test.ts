// The bake fingerprint and the reading of Packer's machine-readable output.

import { copyFile, mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { computeBaseLayerFingerprint, computeFingerprint, listBakedFiles } from '../../pipeline/bake/fingerprint.ts';
import { SOURCE_IGNORE_FILE } from '../../pipeline/bake/source-files.ts';
import { REPO_ROOT } from '../support/files.ts';
import { artifactIds, packerErrorLines, packerProgress, parseMachineLine } from '../../pipeline/bake/packer.ts';
import { suite } from '../support/suite.ts';

async function project(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'bakery-fingerprint-'));
  const files: Record<string, string> = {
    'service/bakery_service/__init__.py': 'def create_app(): ...\n',
    'service/tests/test_app.py': 'def test(): ...\n',
    'ansible/playbook.yml': '- hosts: all\n',
    'ansible/roles/app/files/.keep': '',
    'launcher/bakery_launcher/__main__.py': 'main()\n',
    'packer/app.pkr.hcl': 'source "docker" "app" {}\n',
    'README.md': 'not baked\n',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await copyFile(join(REPO_ROOT, SOURCE_IGNORE_FILE), join(root, SOURCE_IGNORE_FILE));
  return root;
}

const inputs = (root: string) => ({
  root,
  appSource: join(root, 'service'),
  baseImage: 'bakery-base:bookworm@sha256:1',
  variables: { app_name: 'demo', environment: 'local' },
});

const Fingerprint = suite<{ root: string; base: string }>('the bake fingerprint');

Fingerprint.before.each(async (context) => {
  context.root = await project();
  context.base = await computeFingerprint(inputs(context.root));
});

Fingerprint.after.each(async (context) => {
  await rm(context.root, { recursive: true, force: true });
});

Fingerprint('is a sha256 that is the same for the same inputs', async (context) => {
  assert.match(context.base, /^[0-9a-f]{64}$/);
  assert.is(await computeFingerprint(inputs(context.root)), context.base);
});

Fingerprint(
  'the base layer’s: the app and the app layer’s tasks do not change it; the launcher, the service account, the secrets unit, the OS roles, the app’s packages task and the packages do',
  async (context) => {
    const { root } = context;
    const baseInputs = (packages = '[]') => ({
      root,
      baseImage: 'bakery-base:bookworm@sha256:1',
      variables: { app_name: 'demo', app_packages: packages },
    });
    const write = async (path: string, text: string) => {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
    };
    await write('ansible/roles/app/tasks/packages.yml', '- apt: {}\n');
    await write('ansible/roles/app/tasks/files.yml', '- copy: {}\n');
    await write('ansible/roles/hardening/tasks/main.yml', '- sysctl: {}\n');
    const before = await computeBaseLayerFingerprint(baseInputs());

    await write('service/bakery_service/__init__.py', 'def create_app(): return 1\n');
    await write('ansible/roles/app/tasks/service.yml', '- copy: { mode: "0644" }\n');
    await write('ansible/roles/app/templates/app.service.j2', '[Unit]\n');
    assert.is(await computeBaseLayerFingerprint(baseInputs()), before, 'app-layer-only changes');

    // Each of these is part of the base layer: each change gives it a new fingerprint.
    const baseLayerChanges: Array<[path: string, text: string, what: string]> = [
      ['launcher/bakery_launcher/__main__.py', 'main(1)\n', 'the launcher: the base layer installs it'],
      ['ansible/roles/app/tasks/user.yml', '- user: {}\n', 'the service account'],
      ['ansible/roles/app/files/source-ignore.yml', '- "*.log"\n', 'the ignore list: it shapes the launcher’s tree'],
      ['ansible/roles/app/templates/secrets.service.j2', '[Unit]\n', 'bakery’s secrets unit'],
      ['ansible/roles/hardening/tasks/main.yml', '- sysctl: { x: 1 }\n', 'a hardening change'],
      ['ansible/roles/app/tasks/packages.yml', '- apt: { x: 1 }\n', 'the packages task'],
    ];
    let previous = before;
    for (const [path, text, what] of baseLayerChanges) {
      await write(path, text);
      const changed = await computeBaseLayerFingerprint(baseInputs());
      assert.is.not(changed, previous, what);
      previous = changed;
    }
    assert.is.not(await computeBaseLayerFingerprint(baseInputs('["libpq5"]')), previous, 'service.packages');
  },
);

Fingerprint('changes with one byte of the service', async (context) => {
  await writeFile(join(context.root, 'service/bakery_service/__init__.py'), 'def create_app(): ...\n\n');
  assert.is.not(await computeFingerprint(inputs(context.root)), context.base);
});

Fingerprint('changes with the playbook and with the template', async (context) => {
  await writeFile(join(context.root, 'ansible/playbook.yml'), '- hosts: all\n  gather_facts: true\n');
  const afterPlaybook = await computeFingerprint(inputs(context.root));
  assert.is.not(afterPlaybook, context.base);
  await writeFile(join(context.root, 'packer/app.pkr.hcl'), 'source "docker" "app" { commit = true }\n');
  assert.is.not(await computeFingerprint(inputs(context.root)), afterPlaybook);
});

Fingerprint('changes when a file becomes executable', async (context) => {
  await chmod(join(context.root, 'ansible/playbook.yml'), 0o755);
  assert.is.not(await computeFingerprint(inputs(context.root)), context.base);
});

Fingerprint('changes with the base image and with a bake variable', async (context) => {
  assert.is.not(
    await computeFingerprint({ ...inputs(context.root), baseImage: 'bakery-base:bookworm@sha256:2' }),
    context.base,
  );
  assert.is.not(
    await computeFingerprint({ ...inputs(context.root), variables: { app_name: 'demo', environment: 'prod' } }),
    context.base,
  );
});

Fingerprint(
  'ignores caches, tests, VCS and venv directories and files outside the baked directories',
  async (context) => {
    await mkdir(join(context.root, 'service/bakery_service/__pycache__'), { recursive: true });
    await writeFile(join(context.root, 'service/bakery_service/__pycache__/x.cpython-311.pyc'), 'bytecode');
    await writeFile(join(context.root, 'service/tests/test_app.py'), 'def test(): assert True\n');
    await mkdir(join(context.root, 'service/.git'), { recursive: true });
    await writeFile(join(context.root, 'service/.git/HEAD'), 'ref: refs/heads/main\n');
    await mkdir(join(context.root, 'service/.venv/bin'), { recursive: true });
    await writeFile(join(context.root, 'service/.venv/bin/python'), '');
    await writeFile(join(context.root, 'service/.DS_Store'), '');
    await writeFile(join(context.root, 'README.md'), 'changed\n');
    assert.is(await computeFingerprint(inputs(context.root)), context.base);
    assert.equal(await listBakedFiles(context.root, join(context.root, 'service')), [
      'ansible/playbook.yml',
      'ansible/roles/app/files/.keep',
      'ansible/roles/app/files/source-ignore.yml',
      'app/bakery_service/__init__.py',
      'launcher/bakery_launcher/__main__.py',
      'packer/app.pkr.hcl',
    ]);
  },
);

Fingerprint('covers the app source wherever it is, and the launcher', async (context) => {
  const elsewhere = await mkdtemp(join(tmpdir(), 'bakery-fingerprint-app-'));
  try {
    await writeFile(join(elsewhere, 'shop.py'), 'app = None\n');
    const own = await computeFingerprint({ ...inputs(context.root), appSource: elsewhere });
    assert.is.not(own, context.base);
    await writeFile(join(elsewhere, 'requirements.txt'), 'tiny==1.0\n');
    assert.is.not(await computeFingerprint({ ...inputs(context.root), appSource: elsewhere }), own);
  } finally {
    await rm(elsewhere, { recursive: true, force: true });
  }
  await writeFile(join(context.root, 'launcher/bakery_launcher/__main__.py'), 'main()  # changed\n');
  assert.is.not(await computeFingerprint(inputs(context.root)), context.base);
});

Fingerprint.run();

// Lines as Packer 1.6.6 prints them with -machine-readable.
const BUILD_OUTPUT = [
  '1795329100,,ui,say,==> docker.app: Creating a temporary directory for sharing data...',
  '1795329101,,ui,say,==> docker.app: Provisioning with Ansible...',
  '1795329102,,ui,message,    docker.app: TASK [app : Install the service files] ***',
  '1795329103,,ui,message,    docker.app: fatal: [default]: FAILED! => {"msg": "boom%!(PACKER_COMMA) really"}',
  "1795329104,,ui,error,Build 'docker.app' errored after 1 minute: Error executing Ansible: Non-zero exit status: exit status 2",
  '1795329210,docker.app,artifact-count,1',
  '1795329210,docker.app,artifact,0,builder-id,packer.docker',
  '1795329210,docker.app,artifact,0,id,sha256:3ca398be0000000000000000000000000000000000000000000000000000abcd',
  '1795329211,amazon-ebs.app,artifact,0,id,eu-west-1:ami-0123456789abcdef0',
  'not a machine-readable line',
];

const Packer = suite('Packer machine-readable output');

Packer('gives the artifact id of each source from artifact lines only', () => {
  const ids = artifactIds(BUILD_OUTPUT);
  assert.is(ids.get('docker.app'), 'sha256:3ca398be0000000000000000000000000000000000000000000000000000abcd');
  assert.is(ids.get('amazon-ebs.app'), 'eu-west-1:ami-0123456789abcdef0');
  assert.is(ids.size, 2);
});

Packer('unescapes commas in fields', () => {
  assert.equal(parseMachineLine(BUILD_OUTPUT[3] as string)?.data, [
    'message',
    '    docker.app: fatal: [default]: FAILED! => {"msg": "boom, really"}',
  ]);
  assert.is(parseMachineLine('not a machine-readable line'), undefined);
});

Packer('turns steps and Ansible tasks into progress lines', () => {
  assert.is(packerProgress(BUILD_OUTPUT[1] as string), 'docker.app: Provisioning with Ansible...');
  assert.is(packerProgress(BUILD_OUTPUT[2] as string), 'ansible: app : Install the service files');
  assert.is(packerProgress(BUILD_OUTPUT[5] as string), undefined);
});

Packer('picks Ansible failures and Packer errors as the error lines', () => {
  assert.equal(packerErrorLines(BUILD_OUTPUT), [
    'fatal: [default]: FAILED! => {"msg": "boom, really"}',
    "Build 'docker.app' errored after 1 minute: Error executing Ansible: Non-zero exit status: exit status 2",
  ]);
});

Packer.run();
