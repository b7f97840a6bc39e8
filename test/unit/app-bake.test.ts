// The app's way into the image, without Packer: staging, the wheelhouse's pip command,
// the redaction of index credentials, and git refs.

import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { listBakedFiles } from '../../pipeline/bake/fingerprint.ts';
import { archivePathOf, packTreeCommand, stageSource } from '../../pipeline/bake/scratch.ts';
import { hasHashes, pipCredentialEnv, pipWheelArgs } from '../../pipeline/bake/wheelhouse.ts';
import { Redactor } from '../../pipeline/process/redact.ts';
import { displayUrl, gitCacheDir } from '../../pipeline/source/git.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const Stage = suite<{ dir: string }>('staging: the image gets exactly the files the fingerprint covers', { dir: '' });

Stage.before.each((context) => {
  context.dir = makeTempDir('bakery-stage-');
});
Stage.after.each((context) => removeDir(context.dir));

async function listTree(directory: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listTree(join(directory, entry.name), `${path}/`)));
    else out.push(path);
  }
  return out.sort();
}

Stage('leaves out .git, caches and editor files, and copies the rest as the fingerprint lists it', async (context) => {
  const source = join(context.dir, 'shop');
  for (const [path, text] of Object.entries({
    'shop/__init__.py': 'app = None\n',
    'shop/templates/index.html': '<p>hi</p>\n',
    'requirements.txt': 'tiny==1.0\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'shop/__pycache__/x.pyc': 'bytecode',
    'shop/.__init__.py.swp': 'swap',
    '.venv/bin/python': '',
  })) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), text);
  }
  const staged = join(context.dir, 'staged');
  const copied = await stageSource(REPO_ROOT, source, staged);
  assert.equal(copied, ['requirements.txt', 'shop/__init__.py', 'shop/templates/index.html']);
  assert.equal(await listTree(staged), copied);
  const fingerprinted = (await listBakedFiles(REPO_ROOT, source)).filter((path) => path.startsWith('app/'));
  assert.equal(
    fingerprinted,
    copied.map((path) => `app/${path}`),
  );
});

Stage.run();

const Pack = suite<{ dir: string }>('the archive of the staged tree the app layer installs', { dir: '' });

Pack.before.each((context) => {
  context.dir = makeTempDir('bakery-pack-');
});
Pack.after.each((context) => removeDir(context.dir));

Pack(
  'holds the staged tree, relative to it, and is the same for the same files whatever their times',
  async (context) => {
    const staged = join(context.dir, 'app');
    await mkdir(join(staged, 'shop', 'templates'), { recursive: true });
    await writeFile(join(staged, 'shop', '__init__.py'), 'app = None\n');
    await writeFile(join(staged, 'shop', 'templates', 'index.html'), '<p>hi</p>\n');
    const archive = archivePathOf(staged);
    assert.is(archive, `${staged}.tar.gz`);
    const pack = (): Promise<Buffer> => {
      const command = packTreeCommand(staged, archive);
      execFileSync(command.tool, command.args);
      return readFile(archive);
    };
    const first = await pack();
    const listing = execFileSync('tar', ['--list', '--verbose', '--gzip', '--file', archive]).toString();
    assert.equal(
      listing
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/).pop())
        .sort(),
      ['./', './shop/', './shop/__init__.py', './shop/templates/', './shop/templates/index.html'],
    );
    assert.match(listing, /0\/0 /, 'owned by root in the archive');
    await utimes(join(staged, 'shop', '__init__.py'), new Date(), new Date(2030, 0, 1));
    assert.ok(first.equals(await pack()), 'a new mtime alone changes nothing');
  },
);

const Wheelhouse = suite('wheelhouse: pip resolves the requirements on the bake machine');

Wheelhouse('asks pip for wheels from the configured indexes, hashes required when the file has them', () => {
  const args = pipWheelArgs(
    { index_url: 'http://127.0.0.1:1/simple', extra_index_urls: ['http://127.0.0.1:2/simple'] },
    '/s/requirements.txt',
    '/w',
    true,
  );
  assert.equal(args.slice(0, 3), ['-m', 'pip', 'wheel']);
  for (const expected of [
    ['--wheel-dir', '/w'],
    ['--index-url', 'http://127.0.0.1:1/simple'],
    ['--extra-index-url', 'http://127.0.0.1:2/simple'],
    ['--requirement', '/s/requirements.txt'],
  ]) {
    const at = args.indexOf(expected[0] as string);
    assert.ok(at >= 0 && args[at + 1] === expected[1], `${expected.join(' ')} in ${args.join(' ')}`);
  }
  assert.ok(args.includes('--require-hashes'));
  assert.not.ok(pipWheelArgs({ extra_index_urls: [] }, 'r.txt', '/w', false).includes('--index-url'));
});

Wheelhouse('tells a requirements file with hashes from one without', () => {
  assert.ok(hasHashes('tiny==1.0 \\\n    --hash=sha256:0123abcd\n'));
  assert.not.ok(hasHashes('tiny==1.0\n# no hashes here\n'));
});

Wheelhouse('never shows the password of a private index or git URL', () => {
  const redactor = new Redactor({});
  const line = redactor.redact('pip wheel --index-url https://alice:s3cr3t-token@pypi.corp.example/simple -r x');
  assert.not.match(line, 's3cr3t-token');
  assert.match(line, 'https://alice:[REDACTED]@pypi.corp.example/simple');
  assert.is(redactor.redact('http://127.0.0.1:18361/simple'), 'http://127.0.0.1:18361/simple');
  assert.is(displayUrl('https://bob:pw@git.example/shop.git'), 'https://git.example/shop.git');
});

Wheelhouse('hands index credentials from the bake environment to pip, BAKERY_ names first', () => {
  assert.equal(pipCredentialEnv({ BAKERY_PIP_INDEX_URL: 'https://u:p@a/simple', PIP_INDEX_URL: 'https://b/simple' }), {
    PIP_INDEX_URL: 'https://u:p@a/simple',
  });
  assert.equal(pipCredentialEnv({ PIP_EXTRA_INDEX_URL: 'https://c/simple', HOME: '/root' }), {
    PIP_EXTRA_INDEX_URL: 'https://c/simple',
  });
});

Pack.run();
Wheelhouse.run();

const Git = suite('git sources: one cache per URL under .deploy/sources/');

Git('keys the cache by the URL', () => {
  const a = gitCacheDir('/p/.deploy', 'file:///srv/a.git');
  assert.match(a, /^\/p\/\.deploy\/sources\/[0-9a-f]{16}$/);
  assert.is.not(a, gitCacheDir('/p/.deploy', 'file:///srv/b.git'));
});

Git.run();
