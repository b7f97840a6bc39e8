// The preview workflow cannot run here; what it would do can be checked: its triggers,
// permissions, concurrency and fork guard from the parsed YAML, and every bakery command
// it runs, run here with --help appended (flags are parsed before --help is answered, so
// a flag bakery does not have fails with exit 2).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { REPO_ROOT, runCli } from '../support/files.ts';
import { suite } from '../support/suite.ts';

type Yaml = Record<string, unknown>;

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}

interface Job {
  if?: string;
  permissions?: Yaml;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  environment?: string | { name: string };
  steps: Step[];
}

const TEXT = readFileSync(join(REPO_ROOT, '.github/workflows/preview.yml'), 'utf8');
const WORKFLOW = parse(TEXT) as { on: Yaml; permissions: Yaml; jobs: Record<string, Job> };
const { deploy, destroy, sweep } = WORKFLOW.jobs as Record<'deploy' | 'destroy' | 'sweep', Job>;

/** Every bakery command line in the job's run steps, with the shell's values filled in. */
function bakeryCommands(job: Job): Array<{ script: 'deploy.ts' | 'destroy.ts'; args: string[] }> {
  const found: Array<{ script: 'deploy.ts' | 'destroy.ts'; args: string[] }> = [];
  for (const step of job.steps) {
    for (const match of (step.run ?? '').matchAll(/\.\/(deploy|destroy)\.ts([^|\n]*)/g)) {
      const line = (match[2] as string).replace(/\|\|.*$/, '').replaceAll('"$PREVIEW"', 'pr-1');
      const args = line.replaceAll('"pr-$number"', 'pr-1').trim().split(/\s+/).filter(Boolean);
      found.push({ script: `${match[1]}.ts` as 'deploy.ts' | 'destroy.ts', args });
    }
  }
  return found;
}

const Triggers = suite('the preview workflow: when it runs and with what rights');

Triggers('deploys on opened, synchronize and reopened, destroys on closed, sweeps on a schedule', () => {
  const pullRequest = WORKFLOW.on.pull_request as { types: string[] };
  assert.equal([...pullRequest.types].sort(), ['closed', 'opened', 'reopened', 'synchronize']);
  assert.ok(Array.isArray(WORKFLOW.on.schedule) && (WORKFLOW.on.schedule as unknown[]).length === 1);
  assert.not.ok('pull_request_target' in WORKFLOW.on, 'never runs fork code with the base repository rights');
  assert.match(deploy.if ?? '', "github.event.action != 'closed'");
  assert.match(destroy.if ?? '', "github.event.action == 'closed'");
  assert.match(sweep.if ?? '', "github.event_name == 'schedule'");
});

Triggers('pull requests from forks get no job with credentials', () => {
  for (const job of [deploy, destroy])
    assert.match(job.if ?? '', 'github.event.pull_request.head.repo.full_name == github.repository');
});

Triggers('no rights by default; each job asks for an OIDC token and only what it needs', () => {
  assert.equal(WORKFLOW.permissions, {});
  for (const job of [deploy, destroy])
    assert.equal(job.permissions, { 'id-token': 'write', contents: 'read', 'pull-requests': 'write' });
  assert.equal(sweep.permissions, { 'id-token': 'write', contents: 'read', 'pull-requests': 'read' });
  for (const job of [deploy, destroy, sweep]) {
    const configure = job.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    assert.ok(configure, 'credentials come from configure-aws-credentials');
    assert.equal(Object.keys(configure.with ?? {}).sort(), ['aws-region', 'role-session-name', 'role-to-assume']);
  }
  assert.not.match(TEXT, /aws-access-key-id|aws-secret-access-key|secrets\.AWS/);
});

Triggers('one concurrency group per pull request, shared by deploy and destroy, never cancelling', () => {
  for (const job of [deploy, destroy])
    assert.equal(job.concurrency, {
      group: 'preview-pr-${{ github.event.pull_request.number }}',
      'cancel-in-progress': false,
    });
  assert.equal(sweep.concurrency?.group, 'preview-sweep');
});

Triggers('one PR comment, found by its marker and updated in place, says the URL and the outcome', () => {
  for (const job of [deploy, destroy]) {
    const comment = job.steps.find((step) => step.uses?.startsWith('actions/github-script@'));
    assert.ok(comment, 'a comment step');
    assert.is(comment.if, 'always()', 'it comments on a failure too');
    const script = String(comment.with?.script);
    assert.match(script, "const marker = '<!-- bakery-preview -->'");
    assert.match(script, 'updateComment');
    assert.match(script, 'createComment');
  }
  const script = String(deploy.steps.find((step) => step.uses?.startsWith('actions/github-script@'))?.with?.script);
  assert.match(script, 'process.env.URL');
  assert.match(script, "process.env.OUTCOME === 'success'");
});

const Commands = suite('the bakery commands the preview workflow runs');

Commands('deploy and destroy take the preview by name, in the tooling container', () => {
  assert.equal(bakeryCommands(deploy), [
    { script: 'deploy.ts', args: ['--preview', 'pr-1', '--container', 'always', '--json'] },
  ]);
  assert.equal(bakeryCommands(destroy), [
    { script: 'destroy.ts', args: ['--preview', 'pr-1', '--yes', '--container', 'always'] },
  ]);
  assert.equal(bakeryCommands(sweep), [
    { script: 'destroy.ts', args: ['--preview', 'pr-1', '--yes', '--container', 'always'] },
  ]);
});

Commands('each command line is accepted by bakery as written (run with --help: exit 0)', async () => {
  for (const { script, args } of [...bakeryCommands(deploy), ...bakeryCommands(destroy), ...bakeryCommands(sweep)]) {
    const result = await runCli(script, [...args, '--help']);
    assert.is(result.code, 0, `${script} ${args.join(' ')}: ${result.stderr}`);
    for (const flag of args.filter((arg) => arg.startsWith('--')))
      assert.match(result.stdout, `  ${flag}`, `${script} --help lists ${flag}`);
  }
  // And a flag it does not have would have failed, so the check can fail.
  const wrong = await runCli('destroy.ts', ['--preview', 'pr-1', '--no-such-flag', '--help']);
  assert.is(wrong.code, 2);
});

Triggers.run();
Commands.run();
