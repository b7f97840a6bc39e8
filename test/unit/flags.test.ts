import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import {
  COMMON_FLAGS,
  DEPLOY_SPEC,
  DESTROY_SPEC,
  INIT_SPEC,
  RUN_SPEC,
  STATUS_SPEC,
  formatHelp,
  parseArgs,
} from '../../pipeline/cli/flags.ts';
import { UsageError } from '../../pipeline/errors.ts';
import { thrownBy } from '../support/fakes.ts';
import { REPO_ROOT, exitOf, makeTempDir, removeDir, runCli, spawnTs } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const usageErrorOf = (run: () => unknown): UsageError => thrownBy(UsageError, run);

const parsing = suite('parseArgs reads the command line');

parsing('takes an environment, switches and values in both forms', () => {
  const args = parseArgs(DEPLOY_SPEC, ['staging', '--rebake', '--config', 'other.yaml', '--strategy=recreate']);
  assert.equal(args.positionals, ['staging']);
  assert.equal(
    [...args.flags],
    [
      ['rebake', true],
      ['config', 'other.yaml'],
      ['strategy', 'recreate'],
    ],
  );
});

parsing('keeps everything after -- as positionals', () => {
  const args = parseArgs(DEPLOY_SPEC, ['--', '--not-a-flag']);
  assert.equal(args.positionals, ['--not-a-flag']);
  assert.is(args.flags.size, 0);
});

parsing('treats -h as --help', () => {
  assert.ok(parseArgs(DESTROY_SPEC, ['-h']).flags.has('help'));
});

parsing('rejects an unknown flag with a suggestion and every valid flag', () => {
  const error = usageErrorOf(() => parseArgs(DEPLOY_SPEC, ['--rebak']));
  assert.is(error.message, 'unknown flag --rebak (did you mean --rebake?)');
  assert.is(error.exitCode, 2);
  assert.is(error.details[0], `valid flags: ${DEPLOY_SPEC.flags.map((flag) => `--${flag.name}`).join(', ')}`);
});

parsing('rejects a deploy-only flag on destroy', () => {
  const error = usageErrorOf(() => parseArgs(DESTROY_SPEC, ['--rebake']));
  assert.match(error.message, 'unknown flag --rebake');
  assert.not.match(error.details[0] as string, '--rebake');
});

parsing('rejects a value the flag does not allow', () => {
  const error = usageErrorOf(() => parseArgs(DEPLOY_SPEC, ['--strategy', 'blue-green']));
  assert.is(error.message, '--strategy "blue-green" is not allowed: expected one of rolling, recreate');
});

parsing('rejects a missing value', () => {
  assert.is(usageErrorOf(() => parseArgs(DEPLOY_SPEC, ['--image'])).message, '--image needs a value: ID');
  assert.is(usageErrorOf(() => parseArgs(DEPLOY_SPEC, ['--config', '--json'])).message, '--config needs a value: PATH');
});

parsing('rejects a value on a switch', () => {
  assert.is(usageErrorOf(() => parseArgs(DEPLOY_SPEC, ['--json=yes'])).message, '--json takes no value (got "yes")');
});

parsing('documents every flag in --help', () => {
  for (const spec of [DEPLOY_SPEC, DESTROY_SPEC]) {
    const help = formatHelp(spec);
    for (const flag of spec.flags) {
      assert.match(help, `--${flag.name}${flag.value ? ` ${flag.value}` : ''}`);
      assert.match(help, flag.description);
    }
    assert.match(help, `Usage: ${spec.usage}`);
    assert.match(help, 'Exit codes: 0 ok, 1 deployment failed, 2 bad input');
  }
});

parsing.run();

// ---------------------------------------------------------------------------------------

const cli = suite('the entry points treat bad flags and names as bad input');
let dir = '';
let config = '';
cli.before.each(() => {
  dir = makeTempDir();
  config = join(dir, 'deploy.yaml');
  writeFileSync(
    config,
    'app: shop\nenvironments:\n  local: { target: local }\n  staging:\n    target: aws\n    aws: { region: eu-west-1, state: { backend: s3, bucket: shop-state } }\n',
  );
});
cli.after.each(() => removeDir(dir));

cli('exits 2 on an unknown flag, listing the valid ones and the likely one', async () => {
  const result = await runCli('deploy.ts', ['--config', config, '--dryrun']);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'error: unknown flag --dryrun (did you mean --dry-run?)');
  assert.match(result.stderr, `valid flags: ${DEPLOY_SPEC.flags.map((flag) => `--${flag.name}`).join(', ')}`);
  assert.is(result.stdout, '');
  assert.not.ok(existsSync(join(dir, '.deploy')));
});

cli('exits 2 on an unknown environment, listing the defined ones', async () => {
  const result = await runCli('deploy.ts', ['prod', '--config', config]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'unknown environment "prod"');
  assert.match(result.stderr, `environments in ${config}: local, staging`);
  assert.not.ok(existsSync(join(dir, '.deploy')));
});

cli('exits 2 on an environment named after an Object.prototype member', async () => {
  const result = await runCli('destroy.ts', ['constructor', '--config', config]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'unknown environment "constructor"');
  assert.not.ok(existsSync(join(dir, '.deploy')));
});

cli('exits 2 on two environment names', async () => {
  const result = await runCli('deploy.ts', ['local', 'staging', '--config', config]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'expected at most one environment name, got 2: local staging');
});

cli('exits 2 on a bad --strategy', async () => {
  const result = await runCli('deploy.ts', ['--strategy', 'yolo', '--config', config]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, '--strategy "yolo" is not allowed: expected one of rolling, recreate');
});

cli('exits 2 when destroying an aws environment without --yes and without a terminal', async () => {
  const result = await runCli('destroy.ts', ['staging', '--config', config]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, 'destroying staging (target aws) needs --yes when stdin is not a terminal');
  assert.not.ok(existsSync(join(dir, '.deploy')));
});

cli('prints deploy --help on stdout with every flag', async () => {
  const result = await runCli('deploy.ts', ['--help']);
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, formatHelp(DEPLOY_SPEC));
  for (const flag of DEPLOY_SPEC.flags) assert.match(result.stdout, `--${flag.name}`);
});

cli('prints destroy --help on stdout with every flag', async () => {
  const result = await runCli('destroy.ts', ['--help']);
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, formatHelp(DESTROY_SPEC));
  for (const flag of DESTROY_SPEC.flags) assert.match(result.stdout, `--${flag.name}`);
});

cli('prints the version from package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const result = await runCli('deploy.ts', ['--version']);
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, `bakery ${version}\n`);
  const destroy = await runCli('destroy.ts', ['--version']);
  assert.is(destroy.stdout, `bakery ${version}\n`);
});

cli.run();

// ---------------------------------------------------------------------------------------

const SPECS = [DEPLOY_SPEC, DESTROY_SPEC, STATUS_SPEC, RUN_SPEC, INIT_SPEC];

const common = suite('every command takes the same common flags');

common('each spec lists every common flag once', () => {
  for (const spec of SPECS) {
    const names = spec.flags.map((flag) => flag.name);
    for (const name of COMMON_FLAGS) {
      assert.is(names.filter((found) => found === name).length, 1, `${spec.command} --${name}`);
    }
    assert.is(new Set(names).size, names.length, `${spec.command} lists a flag twice`);
  }
});

common('only the commands that can run in the tooling container use --container', () => {
  const applies = (spec: (typeof SPECS)[number], name: string) =>
    !spec.flags.find((flag) => flag.name === name)?.notApplicable;
  for (const spec of [DEPLOY_SPEC, DESTROY_SPEC]) {
    for (const name of COMMON_FLAGS) assert.ok(applies(spec, name), `${spec.command} --${name}`);
  }
  for (const spec of [STATUS_SPEC, RUN_SPEC, INIT_SPEC]) {
    assert.not.ok(applies(spec, 'container'), spec.command);
    assert.not.ok(applies(spec, 'no-container'), spec.command);
    assert.ok(applies(spec, 'config') && applies(spec, 'help') && applies(spec, 'version'), spec.command);
  }
  assert.not.ok(applies(RUN_SPEC, 'json'));
  assert.not.ok(applies(STATUS_SPEC, 'verbose'));
});

common('a flag that does not apply is dropped with a one-line note', () => {
  const args = parseArgs(STATUS_SPEC, ['local', '--no-container', '--container', 'always', '--verbose', '--json']);
  assert.equal(args.positionals, ['local']);
  assert.equal([...args.flags.keys()], ['json']);
  assert.equal(args.notes, [
    '--container does not apply to status: status only reads (Docker or the AWS API) from this machine; ignored',
    '--no-container does not apply to status: status only reads (Docker or the AWS API) from this machine; ignored',
    '--verbose does not apply to status: status prints its own report, never what the tools print; ignored',
  ]);
  assert.is(parseArgs(DEPLOY_SPEC, ['--no-container']).notes, undefined);
});

common('a flag that does not apply is still checked: a bad value is exit 2', () => {
  const error = usageErrorOf(() => parseArgs(STATUS_SPEC, ['--container', 'sometimes']));
  assert.is(error.message, '--container "sometimes" is not allowed: expected one of auto, always, never');
});

common('an unknown flag is still exit 2 naming it and every allowed flag', () => {
  for (const spec of SPECS) {
    const error = usageErrorOf(() => parseArgs(spec, ['--frobnicate']));
    assert.is(error.message, 'unknown flag --frobnicate');
    assert.is(error.details[0], `valid flags: ${spec.flags.map((flag) => `--${flag.name}`).join(', ')}`);
  }
});

common('--help says which common flags do not apply, and why', () => {
  assert.match(formatHelp(RUN_SPEC), /--json +Accepted, does not apply: the output is the command's own\.\n/);
  assert.match(formatHelp(INIT_SPEC), 'Usage: ./init.ts [flags]');
});

common.run();

// ---------------------------------------------------------------------------------------

const entries = suite('every entry point answers the common flags');

async function runEntry(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTs(join(REPO_ROOT, script), args, { CI: '1' });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { code } = await exitOf(child);
  return { code, stdout, stderr };
}

entries('status, run and init print the version; --no-container is a note there, not exit 2', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const [script, command] of [
    ['status.ts', 'status'],
    ['run.ts', 'run'],
    ['init.ts', 'init'],
  ] as const) {
    const result = await runEntry(script, ['--no-container', '--version']);
    assert.is(result.code, 0, result.stderr);
    assert.is(result.stdout, `bakery ${version}\n`);
    assert.match(result.stderr, new RegExp(`^note: --no-container does not apply to ${command}: .*; ignored\n$`));
  }
});

entries('status still refuses an unknown flag with exit 2', async () => {
  const result = await runEntry('status.ts', ['--no-contaner']);
  assert.is(result.code, 2);
  assert.match(result.stderr, 'error: unknown flag --no-contaner (did you mean --no-container?)');
  assert.match(result.stderr, `valid flags: ${STATUS_SPEC.flags.map((flag) => `--${flag.name}`).join(', ')}`);
});

entries.run();
