// ./deploy.ts on the aws target, end to end through the real entry point: fake terraform
// and packer on PATH, a fake AWS API behind AWS_ENDPOINT_URL, and a local HTTP server as
// the load balancer. Nothing leaves 127.0.0.1.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { defaultAccount, FAKE_KEY_ID, FAKE_SECRET, withAwsProject } from '../helpers/aws-project.ts';

const Deploy = suite('aws deploy');

const REFRESH_OK = {
  id: 'refresh-new-0001',
  after: '',
  states: [
    { status: 'Pending', percent: 0, toUpdate: 2 },
    { status: 'InProgress', percent: 0, toUpdate: 2, reason: 'Waiting for instances to warm up.' },
    { status: 'InProgress', percent: 50, toUpdate: 1, reason: 'Waiting for instances to warm up.' },
    { status: 'Successful', percent: 100, toUpdate: 0 },
  ],
};

Deploy('a first deploy bakes, applies the plan it made, and prints only the URL on stdout', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^http:\/\/127\.0\.0\.1:\d+\n$/);
    assert.ok(project.healthHits >= 2, 'the URL was polled through the stand-in load balancer');
    assert.match(
      result.stderr,
      /new Auto Scaling group demo-staging: its first instances start on ami-0abc1234567890def/,
    );

    const calls = await project.toolCalls();
    const build = calls.find((line) => line.startsWith('packer build'));
    assert.ok(build, 'packer build ran');
    assert.match(build as string, /-only=amazon-ebs\.app -machine-readable/);
    assert.match(build as string, /PKR_VAR_aws_region=eu-west-1 PKR_VAR_ssh_source_cidrs=\["127\.0\.0\.1\/32"\]/);
    // The bake talks to the same endpoint as the SDK and Terraform (AWS_ENDPOINT_URL here).
    assert.ok((build as string).endsWith(` PKR_VAR_aws_endpoint_ec2=${project.endpoint}`), build);
    const terraform = calls.filter((line) => line.startsWith('terraform') && !line.startsWith('terraform version'));
    assert.equal(
      terraform.map((line) => line.split(' ')[1]),
      // The plan is read as data (show -json of the plan file), then exactly that plan is applied.
      ['init', 'plan', 'show', 'apply', 'output'],
    );
    for (const line of terraform) {
      assert.match(line, /\| TF_IN_AUTOMATION=1$/);
      if (!/^terraform (output|show)/.test(line)) assert.match(line, /-input=false .*-lock-timeout=5m/);
    }
    assert.match(terraform[2] as string, /^terraform show -json -no-color \S+\/tfplan /);
    assert.match(
      terraform[0] as string,
      new RegExp(`-backend-config=path=${join(project.stateDir, 'terraform.tfstate')}`),
    );
    const planFile = /-out=(\S+)/.exec(terraform[1] as string)?.[1];
    assert.ok(
      planFile?.startsWith(join(project.stateDir, 'terraform')),
      'the plan file lives under .deploy/ENV/terraform',
    );
    assert.ok((terraform[2] as string).includes(` ${planFile} `), 'apply applies exactly that plan file');

    const inputs = JSON.parse(await readFile(join(project.stateDir, 'terraform.tfvars.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(inputs.image, { id: 'ami-0abc1234567890def', root_device_name: '/dev/xvda' });
    assert.equal(inputs.subnet_ids, ['subnet-0aaa000000000001', 'subnet-0bbb000000000002']);
    assert.is(inputs.vpc_id, 'vpc-0def0000000000001');
    assert.is(inputs.name, 'demo-staging');
    const staged = await readFile(join(project.stateDir, 'terraform', 'backend.tf'), 'utf8');
    assert.match(staged, /backend "local" \{\}/);

    const record = JSON.parse(await readFile(join(project.stateDir, 'deployment.json'), 'utf8')) as {
      image: string;
      url: string;
    };
    assert.is(record.image, 'ami-0abc1234567890def');
    assert.is(`${record.url}\n`, result.stdout);
  });
});

Deploy('secrets never reach the inputs, the logs or the output', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    const result = await project.run('deploy.ts', ['--verbose']);
    assert.is(result.exitCode, 0, result.stderr);
    const inputs = await readFile(join(project.stateDir, 'terraform.tfvars.json'), 'utf8');
    for (const text of [inputs, result.stdout, result.stderr]) {
      assert.not.ok(text.includes(FAKE_SECRET), 'the secret key leaked');
      assert.not.ok(text.includes(FAKE_KEY_ID), 'the access key id leaked');
    }
  });
});

Deploy('a new image is rolled out by instance refresh, showing its percentage until it succeeds', async () => {
  await withAwsProject(
    {
      aws: defaultAccount({
        refresh: REFRESH_OK,
        oldRefreshes: [{ id: 'refresh-old-0001', status: 'Successful', startedDaysAgo: 9 }],
      }),
    },
    async (project) => {
      await project.seedState();
      const result = await project.run('deploy.ts');
      assert.is(result.exitCode, 0, result.stderr);
      assert.match(
        result.stderr,
        /terraform: 0 to add, 2 to change, 0 to destroy \(update aws_launch_template\.this, update aws_autoscaling_group\.this\)/,
      );
      assert.match(result.stderr, /waiting for instance refresh refresh-new-0001 of demo-staging/);
      assert.match(
        result.stderr,
        /instance refresh InProgress 50% \(1 instance to update\): Waiting for instances to warm up\./,
      );
      assert.match(result.stderr, /instance refresh refresh-new-0001 succeeded/);
      assert.match(result.stdout, /^http:\/\/127\.0\.0\.1:\d+\n$/);
    },
  );
});

Deploy('a refresh that rolls back fails the deploy with its reason and the rollback details', async () => {
  const rollback = {
    id: 'refresh-bad-0001',
    after: '',
    states: [
      { status: 'InProgress', percent: 0, toUpdate: 2 },
      {
        status: 'RollbackInProgress',
        percent: 0,
        toUpdate: 2,
        reason: 'Instance refresh failed: new instances were not healthy in the load balancer.',
      },
      {
        status: 'RollbackSuccessful',
        percent: 0,
        toUpdate: 0,
        reason: 'The instance refresh was rolled back: new instances were not healthy in the load balancer.',
        rollback: { reason: 'Automatic rollback after instances failed health checks', percent: 50, toUpdate: 1 },
      },
    ],
  };
  const failing = [
    [
      {
        id: 'i-0new0000000000003',
        state: 'unhealthy',
        reason: 'Target.FailedHealthChecks',
        description: 'Health checks failed with these codes: [500]',
      },
    ],
  ];
  await withAwsProject({ aws: defaultAccount({ refresh: rollback, targets: failing }) }, async (project) => {
    await project.seedState();
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 1, result.stderr);
    assert.is(result.stdout, '', 'no URL for a failed deploy');
    assert.match(
      result.stderr,
      /instance refresh of demo-staging ended RollbackSuccessful: The instance refresh was rolled back: new instances were not healthy/,
    );
    assert.match(result.stderr, /rollback reason: Automatic rollback after instances failed health checks/);
    assert.match(result.stderr, /refresh was 50% complete when the rollback started/);
    assert.match(result.stderr, /the group runs the previous launch template version again/);
    assert.match(
      result.stderr,
      /i-0new0000000000003:8080 unhealthy Target\.FailedHealthChecks \(Health checks failed with these codes: \[500\]\)/,
    );
    assert.not.ok(
      await readFile(join(project.stateDir, 'deployment.json'), 'utf8').catch(() => undefined),
      'no deployment record for a failed deploy',
    );
  });
});

Deploy('unhealthy targets are shown with their reasons while the deploy waits, and 503s are retried', async () => {
  const targets = [
    [],
    [
      {
        id: 'i-0new0000000000001',
        state: 'initial',
        reason: 'Elb.InitialHealthChecking',
        description: 'Initial health checks in progress',
      },
    ],
    [
      { id: 'i-0new0000000000001', state: 'healthy' },
      {
        id: 'i-0new0000000000002',
        state: 'unhealthy',
        reason: 'Target.FailedHealthChecks',
        description: 'Health checks failed with these codes: [503]',
      },
    ],
    [
      { id: 'i-0new0000000000001', state: 'healthy' },
      { id: 'i-0new0000000000002', state: 'healthy' },
    ],
  ];
  await withAwsProject({ aws: defaultAccount({ targets }), health: [503, 502, 200] }, async (project) => {
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /0\/2 targets healthy \(no targets registered yet\)/);
    assert.match(
      result.stderr,
      /0\/2 targets healthy; waiting for:\n\S+ +i-0new0000000000001:8080 initial Elb\.InitialHealthChecking \(Initial health checks in progress\)/,
    );
    assert.match(
      result.stderr,
      /1\/2 targets healthy; waiting for:\n\S+ +i-0new0000000000002:8080 unhealthy Target\.FailedHealthChecks \(Health checks failed with these codes: \[503\]\)/,
    );
    assert.match(result.stderr, /GET http:\/\/127\.0\.0\.1:\d+\/health → 503/);
    assert.match(result.stderr, /→ 200 \(2\/2\)/);
    assert.ok(project.healthHits >= 4, `expected the 503 and 502 to be retried, got ${project.healthHits} requests`);
  });
});

Deploy('throttled AWS calls are retried with backoff and the deploy succeeds', async () => {
  // One throttle per client (STS, EC2, Auto Scaling, ELBv2): each must retry by itself.
  const throttle = { GetCallerIdentity: 1, DescribeImages: 1, DescribeInstanceRefreshes: 1, DescribeTargetHealth: 1 };
  await withAwsProject({ aws: defaultAccount({ refresh: REFRESH_OK, throttle }) }, async (project) => {
    await project.seedState();
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 0, result.stderr);
    const actions = project.aws.actions();
    const count = (name: string): number => actions.filter((a) => a === name).length;
    assert.ok(count('GetCallerIdentity') >= 2, 'GetCallerIdentity was retried');
    assert.ok(count('DescribeImages') >= 2, 'DescribeImages was retried');
    assert.ok(count('DescribeTargetHealth') >= 2, 'DescribeTargetHealth was retried');
    assert.ok(count('DescribeInstanceRefreshes') >= 3, 'DescribeInstanceRefreshes was retried');
    assert.not.match(result.stderr, /Rate exceeded/);
  });
});

Deploy(
  'an HTML 500 to every DescribeInstanceRefreshes fails the deploy naming the call, without a stack trace',
  async () => {
    const htmlErrors = { DescribeInstanceRefreshes: Number.POSITIVE_INFINITY };
    await withAwsProject(
      { aws: defaultAccount({ refresh: REFRESH_OK, htmlErrors }), toolEnv: { AWS_MAX_ATTEMPTS: '3' } },
      async (project) => {
        await project.seedState();
        const result = await project.run('deploy.ts', ['--verbose']);
        assert.is(result.exitCode, 1, result.stderr);
        assert.is(result.stdout, '');
        assert.match(
          result.stderr,
          /autoscaling:DescribeInstanceRefreshes for demo-staging failed after 3 attempts: HTTP 500: an HTML page instead of an AWS response \("500 Internal Server Error"\)/,
        );
        assert.match(result.stderr, /something other than AWS answered/);
        assert.match(
          result.stderr,
          /attempt 1 failed: HTTP 500: an HTML page instead of an AWS response .*retrying in/,
          'retries shown with --verbose',
        );
        assert.not.match(result.stderr, /@aws-sdk|XML parse error|Deserialization error/);
        assert.not.match(result.stderr, /^\s+at /m, 'no stack trace');
      },
    );
  },
);

Deploy('an image with the same fingerprint is reused: the second deploy does not bake', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    const second = await project.run('deploy.ts', [], { FAKE_TF_PLAN: 'nochange' });
    assert.is(second.exitCode, 0, second.stderr);
    assert.match(second.stderr, /already baked \(demo-staging-0123456789ab-20261122000000\)/);
    assert.match(second.stderr, /infrastructure up to date/);
    assert.match(second.stderr, /no instance refresh needed: demo-staging already runs ami-0abc1234567890def/);
    const builds = (await project.toolCalls()).filter((line) => line.startsWith('packer build'));
    assert.is(builds.length, 2, 'only the first deploy baked (base layer and app layer)');
  });
});

Deploy('--dry-run shows whether a bake is needed and the plan summary, and applies nothing', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    const result = await project.run('deploy.ts', ['--dry-run']);
    assert.is(result.exitCode, 0, result.stderr);
    assert.match(
      result.stderr,
      /\[bake-base\] .*packer build -only=amazon-ebs\.app base layer \(fingerprint [0-9a-f]{12}\)/,
    );
    assert.match(
      result.stderr,
      /\[bake\] .*packer build -only=amazon-ebs\.app app layer on the new base layer \(fingerprint known once that is baked\)/,
    );
    assert.match(
      result.stderr,
      /terraform plan: 10 to add, 0 to change, 0 to destroy .*\(planned with ami-0debian12base0001 for the image the bake will make\)/,
    );
    const calls = await project.toolCalls();
    assert.not.ok(
      calls.some((line) => line.startsWith('packer build')),
      'no bake',
    );
    assert.not.ok(
      calls.some((line) => line.startsWith('terraform apply')),
      'no apply',
    );
    const plan = calls.find((line) => line.startsWith('terraform plan'));
    assert.ok(
      plan?.includes(`-out=${join(project.stateDir, 'terraform-dry-run', 'tfplan')}`),
      `a plan of its own, in its own working copy: ${plan}`,
    );
    assert.ok(
      plan?.includes('-lock=false') && !plan.includes('-lock-timeout'),
      'a dry run never waits for the state lock',
    );
    assert.not.ok(existsSync(join(project.stateDir, 'terraform')), 'the working copy of real runs is untouched');
    assert.not.ok(
      await readFile(join(project.stateDir, 'terraform.tfvars.json'), 'utf8').catch(() => undefined),
      'the inputs of real applies are untouched',
    );
  });
});

Deploy('a failed apply names terraform, its error lines and the log', async () => {
  await withAwsProject({ aws: defaultAccount(), toolEnv: { FAKE_TF_APPLY: 'fail' } }, async (project) => {
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 1, result.stderr);
    assert.match(result.stderr, /terraform exited with code 1/);
    assert.match(result.stderr, /Error: creating ELBv2 application Load Balancer \(demo-staging\)/);
    assert.match(result.stderr, /with aws_lb\.this,/);
    assert.match(result.stderr, /log: .*provision\.log/);
  });
});

Deploy('Ctrl-C during terraform apply is forwarded to terraform and the runner exits 130', async () => {
  await withAwsProject({ aws: defaultAccount(), toolEnv: { FAKE_TF_APPLY: 'hang' } }, async (project) => {
    const running = project.spawn('deploy.ts');
    for (let i = 0; i < 400 && !project.marker('apply-started'); i++) await sleep(50);
    assert.ok(project.marker('apply-started'), 'terraform apply started');
    running.child.kill('SIGINT');
    const result = await running.done;
    assert.is(result.exitCode, 130, result.stderr);
    assert.ok(project.marker('apply-interrupted'), 'terraform received SIGINT and cleaned up');
    assert.match(result.stderr, /SIGINT: stopping; waiting for terraform to clean up/);
    assert.match(result.stderr, /terraform was interrupted/);
  });
});

const CERTIFICATE = [
  'certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0f0f0f0f-1111-2222-3333-444444444444',
];

Deploy('with a certificate the health poll checks the chain, not the load balancer name', async () => {
  // The stand-in serves a certificate for demo.example.com (the service's domain) at
  // 127.0.0.1, as an ALB does at its own DNS name.
  await withAwsProject({ aws: defaultAccount(), awsYaml: CERTIFICATE, tls: 'trusted' }, async (project) => {
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^https:\/\/127\.0\.0\.1:\d+\n$/);
    assert.ok(project.healthHits >= 2);
  });
});

Deploy('a certificate that does not chain to a trusted CA fails the verify', async () => {
  await withAwsProject(
    { aws: defaultAccount(), awsYaml: CERTIFICATE, tls: 'untrusted', deadlineS: 10 },
    async (project) => {
      const result = await project.run('deploy.ts');
      assert.is(result.exitCode, 1, result.stderr);
      assert.match(
        result.stderr,
        /did not answer 200 2 times in a row within \d+ s \(last result: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
      );
      assert.is(project.healthHits, 0, 'no request got through the TLS handshake');
    },
  );
});

Deploy.run();
