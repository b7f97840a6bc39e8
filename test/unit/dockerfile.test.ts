// The tooling image cannot be built here (no registry, no release downloads), so its
// definition is checked statically, and its checksum step is run against a local archive.
// Debian 12 has no hadolint package; these checks cover what matters for this image.

import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as assert from 'uvu/assert';
import { IMAGE_TSX_LOADER } from '../../pipeline/reexec/command.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const TOOLING = join(REPO_ROOT, 'docker', 'tooling');
const DOCKERFILE = readFileSync(join(TOOLING, 'Dockerfile'), 'utf8');
const INSTALL_RELEASE = join(TOOLING, 'install-release.sh');

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions with continuation lines joined and comments dropped; stage -1 is before the first FROM. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = pending + raw.trim();
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    pending = '';
    if (line === '') continue;
    const [, keyword = '', args = ''] = /^(\w+)\s+(.*)$/s.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage++;
    instructions.push({ keyword: keyword.toUpperCase(), args, stage });
  }
  return instructions;
}

const INSTRUCTIONS = parseDockerfile(DOCKERFILE);
const FINAL_STAGE = Math.max(...INSTRUCTIONS.map((i) => i.stage));

/** The global ARG defaults (before the first FROM). */
const GLOBAL_ARGS = new Map(
  INSTRUCTIONS.filter((i) => i.keyword === 'ARG' && i.stage === -1).map((i) => {
    const [name = '', value = ''] = i.args.split(/=(.*)/s, 2);
    return [name, value] as const;
  }),
);

function expand(text: string): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => GLOBAL_ARGS.get(name) ?? whole);
}

function arg(name: string): string {
  const value = GLOBAL_ARGS.get(name);
  assert.ok(value !== undefined, `ARG ${name} is not pinned before the first FROM`);
  return value as string;
}

function runsOf(stage: number): string[] {
  return INSTRUCTIONS.filter((i) => i.keyword === 'RUN' && i.stage === stage).map((i) => i.args);
}

const SEMVER = /^\d+\.\d+\.\d+$/;
const SHA256 = /^[0-9a-f]{64}$/;

const pins = suite('the tooling Dockerfile pins every version');

pins('pins every base image to an exact version tag, never latest', () => {
  const froms = INSTRUCTIONS.filter((i) => i.keyword === 'FROM').map((i) => expand(i.args.split(/\s+/)[0] as string));
  assert.equal(froms, ['node:20.20.2-bookworm-slim', 'docker:28.2.2-cli', 'node:20.20.2-bookworm-slim']);
  for (const image of froms) assert.match(image, /:\d+\.\d+\.\d+-/);
});

pins('pins Packer, Terraform and the three Packer plugins to exact versions', () => {
  for (const name of [
    'PACKER_VERSION',
    'TERRAFORM_VERSION',
    'PACKER_PLUGIN_AMAZON_VERSION',
    'PACKER_PLUGIN_DOCKER_VERSION',
    'PACKER_PLUGIN_ANSIBLE_VERSION',
    'NODE_VERSION',
    'DOCKER_CLI_VERSION',
    'TSX_VERSION',
  ]) {
    assert.match(arg(name), SEMVER, `${name}=${arg(name)}`);
  }
});

pins('pins a SHA256 sum for each HashiCorp archive on amd64 and arm64', () => {
  for (const name of [
    'PACKER_SHA256_AMD64',
    'PACKER_SHA256_ARM64',
    'TERRAFORM_SHA256_AMD64',
    'TERRAFORM_SHA256_ARM64',
  ]) {
    assert.match(arg(name), SHA256, `${name}=${arg(name)}`);
  }
  assert.is(
    new Set([
      arg('PACKER_SHA256_AMD64'),
      arg('PACKER_SHA256_ARM64'),
      arg('TERRAFORM_SHA256_AMD64'),
      arg('TERRAFORM_SHA256_ARM64'),
    ]).size,
    4,
  );
});

pins('installs the amazon, docker and ansible plugins at their pinned versions', () => {
  const installs = runsOf(0).join(' ');
  for (const plugin of ['amazon', 'docker', 'ansible']) {
    const variable = `PACKER_PLUGIN_${plugin.toUpperCase()}_VERSION`;
    assert.match(installs, `packer plugins install github.com/hashicorp/${plugin} "v\${${variable}}"`);
  }
});

pins('pins Ansible and ansible-lint to the Debian 12 release series', () => {
  assert.is(arg('ANSIBLE_CORE_VERSION'), '2.14.*');
  assert.is(arg('ANSIBLE_LINT_VERSION'), '6.13.*');
  assert.is(arg('ANSIBLE_COLLECTIONS_VERSION'), '7.*');
  assert.match(
    runsOf(FINAL_STAGE).join(' '),
    '"ansible-core=${ANSIBLE_CORE_VERSION}" "ansible-lint=${ANSIBLE_LINT_VERSION}"',
  );
  assert.match(runsOf(FINAL_STAGE).join(' '), '"ansible=${ANSIBLE_COLLECTIONS_VERSION}"');
});

pins('installs the same tsx as package.json, where the runner expects it', () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
    engines: { node: string };
  };
  assert.is(arg('TSX_VERSION'), manifest.devDependencies.tsx);
  assert.match(runsOf(FINAL_STAGE).join(' '), 'npm install --global --no-fund --no-audit "tsx@${TSX_VERSION}"');
  assert.is(IMAGE_TSX_LOADER, '/usr/local/lib/node_modules/tsx/dist/loader.mjs');
  assert.is(arg('NODE_VERSION').split('.')[0], /\d+/.exec(manifest.engines.node)?.[0]);
});

pins('labels the image with every tool version', () => {
  const labels = INSTRUCTIONS.filter((i) => i.keyword === 'LABEL' && i.stage === FINAL_STAGE)
    .map((i) => i.args)
    .join(' ');
  for (const key of [
    'org.opencontainers.image.title',
    'org.opencontainers.image.description',
    'org.opencontainers.image.base.name',
  ])
    assert.match(labels, `${key}=`);
  for (const name of [
    'NODE_VERSION',
    'PACKER_VERSION',
    'TERRAFORM_VERSION',
    'PACKER_PLUGIN_AMAZON_VERSION',
    'PACKER_PLUGIN_DOCKER_VERSION',
    'PACKER_PLUGIN_ANSIBLE_VERSION',
    'ANSIBLE_CORE_VERSION',
    'ANSIBLE_LINT_VERSION',
    'ANSIBLE_COLLECTIONS_VERSION',
    'DOCKER_CLI_VERSION',
  ]) {
    assert.match(labels, `\${${name}}`);
  }
});

pins.run();

const checksum = suite('the tooling Dockerfile verifies what it downloads');

checksum('installs Packer and Terraform only through the checksum-verifying script, with the pinned sums', () => {
  const runs = runsOf(0).join(' ');
  assert.match(runs, 'install-release packer "${PACKER_VERSION}" "${PACKER_SHA256_AMD64}" "${PACKER_SHA256_ARM64}"');
  assert.match(
    runs,
    'install-release terraform "${TERRAFORM_VERSION}" "${TERRAFORM_SHA256_AMD64}" "${TERRAFORM_SHA256_ARM64}"',
  );
  assert.not.match(DOCKERFILE, /curl[^\n]*\|\s*(sh|bash)/, 'a download is piped into a shell');
  assert.not.match(DOCKERFILE, /\bwget\b|\bADD\s+https?:/i, 'a download bypasses the checksum');
});

checksum('downloads over https only and compares the SHA256 before unpacking', () => {
  const script = readFileSync(INSTALL_RELEASE, 'utf8');
  assert.match(script, "--proto '=https,file' --proto-redir '=https'");
  assert.match(script, 'https://releases.hashicorp.com');
  assert.ok(script.indexOf('sha256sum') < script.indexOf('unzip'), 'unzip runs before the check');
});

checksum.run();

const user = suite('the tooling image runs as a non-root user with the host ids');

user('ends with USER bakery, created from BAKERY_UID and BAKERY_GID that default to 1000', () => {
  const users = INSTRUCTIONS.filter((i) => i.keyword === 'USER');
  assert.equal(
    users.map((i) => [i.stage, i.args]),
    [[FINAL_STAGE, 'bakery']],
  );
  const finalArgs = INSTRUCTIONS.filter((i) => i.keyword === 'ARG' && i.stage === FINAL_STAGE).map((i) => i.args);
  assert.ok(finalArgs.includes('BAKERY_UID=1000') && finalArgs.includes('BAKERY_GID=1000'), finalArgs.join(' '));
  const creation = runsOf(FINAL_STAGE).find((run) => run.includes('useradd')) ?? '';
  assert.match(creation, 'groupadd --non-unique --gid "${BAKERY_GID}" bakery');
  assert.match(
    creation,
    'useradd --non-unique --uid "${BAKERY_UID}" --gid "${BAKERY_GID}" --create-home --home-dir /home/bakery',
  );
});

user('marks itself with BAKERY_IN_CONTAINER=1 so the runner does not nest containers', () => {
  const env = INSTRUCTIONS.filter((i) => i.keyword === 'ENV' && i.stage === FINAL_STAGE)
    .map((i) => i.args)
    .join(' ');
  assert.match(env, 'BAKERY_IN_CONTAINER=1');
  assert.match(env, 'PACKER_PLUGIN_PATH=/opt/packer/plugins');
});

user.run();

const small = suite('the tooling image stays small');

small('is multi-stage: the download tools stay in the builder stage', () => {
  assert.ok(FINAL_STAGE >= 2);
  const finalRuns = runsOf(FINAL_STAGE).join(' ');
  assert.not.match(finalRuns, /\bunzip\b|\bcurl\b/);
  const copies = INSTRUCTIONS.filter((i) => i.keyword === 'COPY' && i.stage === FINAL_STAGE).map((i) => i.args);
  assert.ok(copies.some((c) => c.startsWith('--from=hashicorp /out/bin/')));
  assert.ok(copies.some((c) => c.startsWith('--from=docker-cli /usr/local/bin/docker')));
});

small('installs without recommends and removes apt lists and the npm cache in the same layer', () => {
  for (const run of INSTRUCTIONS.filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))) {
    assert.match(run.args, '--no-install-recommends');
    assert.match(run.args, 'rm -rf /var/lib/apt/lists/*');
  }
  assert.match(runsOf(FINAL_STAGE).join(' '), 'npm cache clean --force');
});

small.run();

// --- install-release.sh against a local archive --------------------------------------

interface Fixture {
  dir: string;
  releases: string;
  sum: string;
  dest: string;
}

function runScript(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [INSTALL_RELEASE, ...args], { env: { ...process.env, ...env } }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
    });
  });
}

function zip(dir: string, archive: string, member: string): Promise<void> {
  // Python's zipfile module: python3 is on every machine that runs the service tests.
  return new Promise((resolve, reject) => {
    execFile('python3', ['-m', 'zipfile', '-c', archive, member], { cwd: dir }, (error) =>
      error ? reject(error) : resolve(),
    );
  });
}

const script = suite<Fixture>('install-release.sh refuses an archive whose sum does not match');

script.before.each(async (context) => {
  context.dir = makeTempDir('bakery-install-release-');
  const versionDir = join(context.dir, 'releases', 'packer', '9.9.9');
  mkdirSync(versionDir, { recursive: true });
  writeFileSync(join(versionDir, 'packer'), '#!/bin/sh\necho fake packer\n');
  chmodSync(join(versionDir, 'packer'), 0o755);
  await zip(versionDir, 'packer_9.9.9_linux_amd64.zip', 'packer');
  context.releases = pathToFileURL(join(context.dir, 'releases')).href;
  context.sum = createHash('sha256')
    .update(readFileSync(join(versionDir, 'packer_9.9.9_linux_amd64.zip')))
    .digest('hex');
  context.dest = join(context.dir, 'bin');
});
script.after.each((context) => removeDir(context.dir));

const env = (context: Fixture): Record<string, string> => ({
  HASHICORP_RELEASES: context.releases,
  BAKERY_ARCH: 'amd64',
});

script('installs the binary when the sum matches', async (context) => {
  const result = await runScript(['packer', '9.9.9', context.sum, '0'.repeat(64), context.dest], env(context));
  assert.is(result.code, 0, result.stderr);
  assert.ok(existsSync(join(context.dest, 'packer')));
});

script('fails, naming both sums, and installs nothing when the sum is wrong', async (context) => {
  const wrong = `${context.sum.slice(0, -1)}${context.sum.endsWith('0') ? '1' : '0'}`;
  const result = await runScript(['packer', '9.9.9', wrong, context.sum, context.dest], env(context));
  assert.is.not(result.code, 0);
  assert.match(result.stderr, 'SHA256 mismatch for packer_9.9.9_linux_amd64.zip');
  assert.match(result.stderr, `expected ${wrong}`);
  assert.match(result.stderr, `actual   ${context.sum}`);
  assert.not.ok(existsSync(join(context.dest, 'packer')));
});

script('fails before downloading when the pinned sum is empty or not a sum', async (context) => {
  for (const bad of ['', 'FILL-ME-IN']) {
    const result = await runScript(['packer', '9.9.9', bad, context.sum, context.dest], env(context));
    assert.is.not(result.code, 0);
    assert.match(result.stderr, 'is not a sum');
    assert.match(result.stderr, 'packer_9.9.9_SHA256SUMS');
  }
  assert.not.ok(existsSync(join(context.dest, 'packer')));
});

script('uses the arm64 sum on arm64', async (context) => {
  const result = await runScript(['packer', '9.9.9', context.sum, '0'.repeat(64), context.dest], {
    ...env(context),
    BAKERY_ARCH: 'arm64',
  });
  assert.is.not(result.code, 0);
  assert.match(result.stderr, 'packer_9.9.9_linux_arm64.zip');
});

script.run();
