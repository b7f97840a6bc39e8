// ./destroy.ts and image retention on the aws target, end to end with fake tools and a
// fake AWS API: Terraform destroys the stack, every AMI of the app and environment is
// deregistered and its snapshots deleted, and destroying nothing succeeds.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseHistory } from '../../pipeline/state/history.ts';
import { FakeS3 } from '../fakes/s3-api.ts';
import { suite } from '../support/suite.ts';
import { bakedImage, BASE_AMI, defaultAccount, withAwsProject } from '../helpers/aws-project.ts';

const Destroy = suite('aws destroy and image retention');

const OLDER = [
  bakedImage('ami-0a1d00000000000001', 20, 'snap-0a1d0000000000001'),
  bakedImage('ami-0a1d00000000000002', 10, 'snap-0a1d0000000000002'),
];

Destroy('destroy removes the stack with terraform, then deregisters every AMI and deletes its snapshots', async () => {
  const account = defaultAccount({
    images: [structuredClone(BASE_AMI), ...structuredClone(OLDER)],
    orphanSnapshots: [{ id: 'snap-0f0f000000000000f', tags: { 'bakery:app': 'demo', 'bakery:env': 'staging' } }],
  });
  await withAwsProject({ aws: account, envYaml: ['image: { keep: 5 }'] }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    const result = await project.run('destroy.ts', ['--yes']);
    assert.is(result.exitCode, 0, result.stderr);

    const destroy = (await project.toolCalls()).find((line) => line.startsWith('terraform destroy'));
    assert.ok(destroy, 'terraform destroy ran');
    assert.match(
      destroy as string,
      /-auto-approve -input=false -no-color -lock-timeout=5m -var-file=\S+terraform\.tfvars\.json \| TF_IN_AUTOMATION=1/,
    );

    assert.equal([...project.aws.deregistered].sort(), [
      'ami-0a1d00000000000001',
      'ami-0a1d00000000000002',
      'ami-0abc1234567890def',
      'ami-0ba5e00000000001',
    ]);
    assert.equal([...project.aws.deletedSnapshots].sort(), [
      'snap-0a1d0000000000001',
      'snap-0a1d0000000000002',
      'snap-0ba5e0000000001',
      'snap-0baked000000001',
      'snap-0f0f000000000000f',
    ]);
    assert.not.ok(project.aws.deregistered.includes(BASE_AMI.id), 'the base AMI is not ours to delete');
    assert.match(result.stderr, /removed \d+ resource\(s\) of demo\/staging/);
    assert.match(result.stderr, /terraform aws_autoscaling_group\.this/);
    assert.match(
      result.stderr,
      /AMI ami-0abc1234567890def \(demo-staging-0123456789ab-20261122000000\) and its snapshot snap-0baked000000001/,
    );
    assert.match(result.stderr, /snapshot snap-0f0f000000000000f/);
    assert.not.ok(
      await readFile(join(project.stateDir, 'deployment.json'), 'utf8').catch(() => undefined),
      'the deployment record is gone',
    );
  });
});

Destroy('destroying what does not exist succeeds and runs no tool', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    const result = await project.run('destroy.ts', ['--yes']);
    assert.is(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /no Terraform resources in \.deploy\/staging\/terraform\.tfstate: nothing to destroy/);
    assert.match(result.stderr, /nothing to remove for demo\/staging/);
    assert.equal(await project.toolCalls(), [], 'no terraform without state');
    assert.equal(project.aws.deregistered, []);
    assert.not.ok(project.aws.actions().includes('DescribeVpcs'), 'destroy does not check what only deploy needs');
  });
});

Destroy('destroy after an apply that failed halfway removes what was created', async () => {
  await withAwsProject({ aws: defaultAccount(), toolEnv: { FAKE_TF_APPLY: 'fail' } }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 1);
    const result = await project.run('destroy.ts', ['--yes']);
    assert.is(result.exitCode, 0, result.stderr);
    assert.ok(
      (await project.toolCalls()).some((line) => line.startsWith('terraform destroy')),
      'terraform destroy ran on the partial state',
    );
    assert.equal(
      [...project.aws.deregistered].sort(),
      ['ami-0abc1234567890def', 'ami-0ba5e00000000001'],
      'the AMIs baked before the failure (the image and its base layer) are removed too',
    );
  });
});

Destroy('--keep-images leaves the AMIs alone', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    const result = await project.run('destroy.ts', ['--yes', '--keep-images']);
    assert.is(result.exitCode, 0, result.stderr);
    assert.equal(project.aws.deregistered, []);
    assert.equal(project.aws.deletedSnapshots, []);
  });
});

Destroy(
  'with S3 state, destroy initialises the S3 backend with a lock file, finds nothing to destroy and records itself in the shared history',
  async () => {
    const s3 = new FakeS3();
    const s3Endpoint = await s3.start();
    await withAwsProject(
      {
        aws: defaultAccount(),
        awsYaml: ['state: { backend: s3, bucket: demo-tf-state }'],
        toolEnv: { AWS_ENDPOINT_URL_S3: s3Endpoint },
      },
      async (project) => {
        const result = await project.run('destroy.ts', ['--yes']);
        assert.is(result.exitCode, 0, result.stderr);
        const init = (await project.toolCalls()).find((line) => line.startsWith('terraform init'));
        assert.ok(init, 'terraform init ran');
        for (const setting of [
          'bucket=demo-tf-state',
          'key=bakery/demo/staging/terraform.tfstate',
          'region=eu-west-1',
          'use_lockfile=true',
        ]) {
          assert.ok((init as string).includes(`-backend-config=${setting}`), `init has ${setting}`);
        }
        assert.match(await readFile(join(project.stateDir, 'terraform', 'backend.tf'), 'utf8'), /backend "s3" \{\}/);
        assert.match(result.stderr, /the Terraform state has no resources: nothing to destroy/);
        assert.not.ok((await project.toolCalls()).some((line) => line.startsWith('terraform destroy')));
        const shared = parseHistory(
          s3.objects.get('demo-tf-state/bakery/demo/staging/terraform.history.jsonl')?.body ?? '',
        );
        assert.equal(
          shared.map((entry) => `${entry.command} ${entry.outcome}`),
          ['destroy succeeded'],
        );
        assert.not.match(result.stderr, /s3:(Get|Put)Object/, 'no warning about the shared history');
        // The lock other machines see: created only if absent, and gone after the run.
        const lockKey = 'demo-tf-state/bakery/demo/staging/terraform.deploy-lock.json';
        assert.ok(s3.requests.some((r) => r.method === 'PUT' && r.path === lockKey && r.ifNoneMatch === '*'));
        assert.not.ok(s3.objects.has(lockKey), 'the shared lock is released at the end');
      },
    ).finally(() => s3.stop());
  },
);

Destroy('a deploy keeps the newest image.keep AMIs and never the one it deployed', async () => {
  await withAwsProject(
    {
      aws: defaultAccount({ images: [structuredClone(BASE_AMI), ...structuredClone(OLDER)] }),
      envYaml: ['image: { keep: 2 }'],
    },
    async (project) => {
      const result = await project.run('deploy.ts');
      assert.is(result.exitCode, 0, result.stderr);
      // The base layer baked for it is not an image: it stays, as the base of the one in service.
      assert.equal(project.aws.deregistered, ['ami-0a1d00000000000001'], 'only the oldest goes');
      assert.equal(project.aws.deletedSnapshots, ['snap-0a1d0000000000001']);
      assert.match(result.stderr, /removed 1 old image\(s\)/);
    },
  );
});

Destroy.run();
