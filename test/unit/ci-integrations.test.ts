// The CI integrations cannot run here; their structure can be checked: the GitHub
// workflows parsed as YAML, the Jenkinsfile read as declarative Groovy text, and the
// OIDC trust policy as JSON.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

type Yaml = Record<string, unknown>;

function readYaml(relative: string): Yaml {
  return parse(readFileSync(join(REPO_ROOT, relative), 'utf8')) as Yaml;
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = (current as Yaml | undefined)?.[key];
  return current;
}

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  id?: string;
}

const DEPLOY = readYaml('.github/workflows/deploy.yml');
const TEST = readYaml('.github/workflows/test.yml');
const DEPLOY_TEXT = readFileSync(join(REPO_ROOT, '.github/workflows/deploy.yml'), 'utf8');
const deploySteps = at(DEPLOY, 'jobs', 'deploy', 'steps') as Step[];

const testWorkflow = suite('the test workflow runs the CI script on pushes and pull requests');

testWorkflow('triggers on push and pull_request, and can be called by deploy.yml', () => {
  const on = at(TEST, 'on') as Yaml;
  assert.ok('push' in on && 'pull_request' in on && 'workflow_call' in on, Object.keys(on).join(', '));
});

testWorkflow('runs bash .ci/run and needs only read access', () => {
  const steps = at(TEST, 'jobs', 'test', 'steps') as Step[];
  assert.ok(steps.some((step) => step.run === 'bash .ci/run'));
  assert.equal(at(TEST, 'permissions'), { contents: 'read' });
});

testWorkflow.run();

const oidc = suite('the deploy workflow gets AWS credentials through OIDC only');

oidc('asks for an id-token and read-only contents', () => {
  assert.equal(at(DEPLOY, 'permissions'), { 'id-token': 'write', contents: 'read' });
});

oidc('assumes a role with aws-actions/configure-aws-credentials', () => {
  const configure = deploySteps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
  assert.ok(configure, 'no configure-aws-credentials step');
  assert.is(configure.with?.['role-to-assume'], '${{ vars.AWS_DEPLOY_ROLE_ARN }}');
  assert.ok(configure.with?.['aws-region']);
});

oidc('stores no access keys: no aws-access-key-id, no AWS secrets', () => {
  const configure = deploySteps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
  assert.not.ok('aws-access-key-id' in (configure?.with ?? {}));
  assert.not.ok('aws-secret-access-key' in (configure?.with ?? {}));
  assert.not.match(DEPLOY_TEXT, /secrets\.AWS|aws-access-key-id|aws-secret-access-key/i);
});

oidc.run();

const gates = suite('the deploy workflow deploys one environment at a time, prod after approval');

gates('deploys staging on push to main and any environment by hand', () => {
  assert.equal(at(DEPLOY, 'on', 'push', 'branches'), ['main']);
  const input = at(DEPLOY, 'on', 'workflow_dispatch', 'inputs', 'environment') as Yaml;
  assert.is(input.type, 'choice');
  assert.equal(input.options, ['staging', 'prod']);
  assert.is(at(DEPLOY, 'jobs', 'deploy', 'env', 'DEPLOY_ENV'), "${{ inputs.environment || 'staging' }}");
});

gates('runs the job in the GitHub Environment it deploys, so prod waits for its reviewers', () => {
  assert.is(at(DEPLOY, 'jobs', 'deploy', 'environment', 'name'), "${{ inputs.environment || 'staging' }}");
});

gates('queues deploys per environment and never cancels a running one', () => {
  assert.equal(at(DEPLOY, 'jobs', 'deploy', 'concurrency'), {
    group: "deploy-${{ inputs.environment || 'staging' }}",
    'cancel-in-progress': false,
  });
});

gates('deploys only after the tests pass', () => {
  assert.is(at(DEPLOY, 'jobs', 'test', 'uses'), './.github/workflows/test.yml');
  assert.is(at(DEPLOY, 'jobs', 'deploy', 'needs'), 'test');
});

gates('runs the installed bakery deploy in the tooling container with a JSON summary, and keeps the logs', () => {
  const deploy = deploySteps.find((step) => step.id === 'deploy');
  assert.match(deploy?.run ?? '', 'npx bakery deploy "$DEPLOY_ENV" --container always --json');
  const upload = deploySteps.find((step) => step.uses?.startsWith('actions/upload-artifact@'));
  assert.is(upload?.if, 'always()');
  assert.match(String(upload?.with?.path), '.deploy/*/logs/**');
  assert.match(String(upload?.with?.path), 'deploy-summary.json');
});

gates.run();

const JENKINSFILE = readFileSync(join(REPO_ROOT, 'Jenkinsfile'), 'utf8');
// Comments out, so a stage named only in a comment does not count.
const JENKINS_CODE = JENKINSFILE.split('\n')
  .filter((line) => !line.trim().startsWith('//'))
  .join('\n');

/** The text of one stage block, from `stage('NAME')` to the next stage or the end. */
function stageBlock(name: string): string {
  const start = JENKINS_CODE.indexOf(`stage('${name}')`);
  assert.ok(start >= 0, `no stage '${name}'`);
  const next = JENKINS_CODE.indexOf("stage('", start + 1);
  return JENKINS_CODE.slice(start, next === -1 ? undefined : next);
}

const jenkins = suite('the Jenkinsfile is a declarative pipeline with an approval gate');

jenkins('declares the stages in order: test, staging, prod, destroy', () => {
  assert.match(JENKINS_CODE, /^pipeline \{/m);
  const order = ['Test', 'Deploy staging', 'Deploy prod', 'Destroy'].map((name) =>
    JENKINS_CODE.indexOf(`stage('${name}')`),
  );
  assert.ok(
    order.every((index) => index >= 0),
    order.join(', '),
  );
  assert.equal(
    [...order].sort((a, b) => a - b),
    order,
  );
});

jenkins('asks for approval before prod, before taking an agent, and only when it would deploy', () => {
  const prod = stageBlock('Deploy prod');
  const input = prod.indexOf('input {');
  assert.ok(input >= 0, 'no input in the prod stage');
  assert.ok(input < prod.indexOf('agent {'), 'the agent is taken before the approval');
  assert.ok(input < prod.indexOf('npx bakery deploy prod'));
  assert.match(prod, 'beforeInput true');
  assert.match(prod, /submitter '[\w-]+'/);
  assert.not.match(stageBlock('Deploy staging'), 'input {');
});

jenkins('runs every stage in the tooling image built with the agent user ids', () => {
  for (const name of ['Test', 'Deploy staging', 'Deploy prod', 'Destroy']) {
    const block = stageBlock(name);
    assert.match(block, "dockerfile {\n          dir 'docker/tooling'");
    assert.match(block, "additionalBuildArgs '--build-arg BAKERY_UID=$(id -u) --build-arg BAKERY_GID=$(id -g)'");
  }
  assert.match(JENKINS_CODE, /^\s+agent none$/m);
});

jenkins('deploys with --container always --json and archives the logs and the summary', () => {
  for (const [name, env] of [
    ['Deploy staging', 'staging'],
    ['Deploy prod', 'prod'],
  ] as const) {
    const block = stageBlock(name);
    assert.match(block, `npx bakery deploy ${env} --container always --json > deploy-${env}.json`);
    assert.match(block, `archiveArtifacts artifacts: '.deploy/*/logs/**, deploy-${env}.json'`);
  }
});

jenkins('destroys the chosen environment only when confirmed', () => {
  assert.match(JENKINS_CODE, "choice(name: 'DESTROY_ENV', choices: ['staging', 'prod']");
  assert.match(JENKINS_CODE, "booleanParam(name: 'CONFIRM_DESTROY', defaultValue: false");
  const destroy = stageBlock('Destroy');
  assert.ok(destroy.indexOf('if (!params.CONFIRM_DESTROY)') < destroy.indexOf('npx bakery destroy'));
  assert.match(destroy, "npx bakery destroy '${params.DESTROY_ENV}' --yes --container always --json");
  assert.match(destroy, 'archiveArtifacts');
});

jenkins('has balanced braces, as Groovy needs', () => {
  const code = JENKINS_CODE.replace(/'[^'\n]*'|"[^"\n]*"/g, '""');
  assert.is((code.match(/\{/g) ?? []).length, (code.match(/\}/g) ?? []).length);
});

jenkins.run();

const trust = suite('the OIDC trust policy admits only this repository and its environments');

const POLICY = JSON.parse(readFileSync(join(REPO_ROOT, 'iam', 'github-oidc-trust.json'), 'utf8')) as {
  Statement: Array<{
    Effect: string;
    Action: string;
    Principal: { Federated: string };
    Condition: { StringEquals: Record<string, string | string[]> };
  }>;
};

trust('trusts GitHub OIDC tokens meant for STS', () => {
  const [statement] = POLICY.Statement;
  assert.is(statement?.Action, 'sts:AssumeRoleWithWebIdentity');
  assert.match(statement?.Principal.Federated ?? '', /:oidc-provider\/token\.actions\.githubusercontent\.com$/);
  assert.is(statement?.Condition.StringEquals['token.actions.githubusercontent.com:aud'], 'sts.amazonaws.com');
});

trust('limits the subject to the staging and prod environments, without wildcards', () => {
  const subjects = POLICY.Statement[0]?.Condition.StringEquals['token.actions.githubusercontent.com:sub'];
  assert.equal(subjects, [
    'repo:<GITHUB_OWNER>/<GITHUB_REPO>:environment:staging',
    'repo:<GITHUB_OWNER>/<GITHUB_REPO>:environment:prod',
  ]);
  assert.not.match(JSON.stringify(POLICY), '*');
});

trust.run();
