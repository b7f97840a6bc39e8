// service.release on the aws target, end to end through ./deploy.ts: fake terraform and
// packer, the fake AWS API answering the one-off instance's calls (the fleet's launch
// template, RunInstances, the serial console, TerminateInstances). Nothing leaves 127.0.0.1.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { FAKE_FLEET } from '../fakes/aws-api.ts';
import { defaultAccount, withAwsProject } from '../helpers/aws-project.ts';
import { suite } from '../support/suite.ts';

const Release = suite('aws release on a one-off instance');

const RELEASE = ['service:', '  release: ["python manage.py migrate --no-input"]'];
const MIGRATED = ['Operations to perform:', '  Apply all migrations: shop', 'Applying shop.0002_price... OK'];

/** The AMI an earlier deploy left in service; the fake packer bakes ami-0abc1234567890def. */
const OLD_AMI = 'ami-0old000000000001';
const NEW_AMI = 'ami-0abc1234567890def';

Release(
  'the release runs once on a one-off instance of the new AMI, streamed and terminated, before the launch template changes',
  async () => {
    await withAwsProject(
      { aws: defaultAccount({ oneOff: { lines: MIGRATED, exitCode: 0 } }), envYaml: RELEASE },
      async (project) => {
        await project.seedDeployment(OLD_AMI);
        const result = await project.run('deploy.ts', ['--verbose']);
        assert.is(result.exitCode, 0, result.stderr);
        assert.match(result.stderr, /Applying shop\.0002_price\.\.\. OK/);

        const [run] = project.aws.oneOffs;
        assert.ok(run, 'one instance was started');
        assert.is(project.aws.oneOffs.length, 1);
        assert.is(run.imageId, NEW_AMI);
        const launch = project.aws.calls.find((c) => c.action === 'RunInstances');
        const terminate = project.aws.calls.find((c) => c.action === 'TerminateInstances');
        assert.ok(launch && terminate);
        assert.is(launch.params['LaunchTemplate.LaunchTemplateId'], FAKE_FLEET.launchTemplateId);
        assert.is(launch.params['LaunchTemplate.Version'], FAKE_FLEET.launchTemplateVersion);
        assert.is(launch.params['NetworkInterface.1.SecurityGroupId.1'], FAKE_FLEET.securityGroupId);
        assert.is(launch.params['NetworkInterface.1.AssociatePublicIpAddress'], 'false');
        assert.is(launch.params['InstanceInitiatedShutdownBehavior'], 'terminate');
        const config = parse(run.userData.replace(/^#cloud-config\n/, '')) as {
          write_files: Array<{ path: string; content: string }>;
          runcmd: string[][];
        };
        assert.is(config.write_files[0]?.path, '/etc/bakery/app.env', "the fleet's settings come along");
        assert.match(config.write_files[1]?.content ?? '', /-- \/bin\/sh -c 'python manage\.py migrate --no-input'/);
        assert.equal(project.aws.terminated, [run.instanceId]);

        // Provision converged the stack with the launch template still on the old AMI; the
        // apply that put the new AMI there came after the one-off instance was gone.
        const applies = await project.applies();
        assert.equal(
          applies.map((a) => a.imageId),
          [OLD_AMI, NEW_AMI],
        );
        assert.ok(applies[0] && applies[0].at <= launch.at, 'the first apply came before the release');
        assert.ok(applies[1] && applies[1].at >= terminate.at, 'the image-changing apply came after the release');
        assert.match(result.stderr, /release order: the launch template stays on ami-0old000000000001/);
      },
    );
  },
);

Release('a release that fails stops the deploy with exit 1, its last lines, and the group on the old AMI', async () => {
  await withAwsProject(
    {
      aws: defaultAccount({
        oneOff: {
          lines: ['Applying shop.0003_bad...', 'django.db.utils.ProgrammingError: column "x" does not exist'],
          exitCode: 1,
        },
      }),
      envYaml: RELEASE,
    },
    async (project) => {
      await project.seedDeployment(OLD_AMI);
      const result = await project.run('deploy.ts');
      assert.is(result.exitCode, 1, result.stderr);
      assert.is(result.stdout, '', 'no URL for a failed deploy');
      assert.match(result.stderr, /failed with exit code 1/);
      assert.match(result.stderr, /ProgrammingError: column "x" does not exist/);
      assert.match(result.stderr, /one-off instance i-0oneoff000000001/);
      assert.equal(project.aws.terminated, ['i-0oneoff000000001']);
      // One apply, with the launch template on the old AMI: the group never moved.
      assert.equal(
        (await project.applies()).map((a) => a.imageId),
        [OLD_AMI],
      );
      const inputs = JSON.parse(await readFile(join(project.stateDir, 'terraform.tfvars.json'), 'utf8')) as {
        image: { id: string };
      };
      assert.is(inputs.image.id, OLD_AMI);
      assert.not.ok(project.aws.calls.some((c) => c.action === 'StartInstanceRefresh'));
    },
  );
});

Release('a first deploy applies the new AMI at once, then runs the release', async () => {
  await withAwsProject(
    { aws: defaultAccount({ oneOff: { lines: MIGRATED, exitCode: 0 } }), envYaml: RELEASE },
    async (project) => {
      const result = await project.run('deploy.ts', ['--verbose']);
      assert.is(result.exitCode, 0, result.stderr);
      assert.is(project.aws.oneOffs.length, 1, 'the new group runs the image, yet its release runs');
      assert.equal(
        (await project.applies()).map((a) => a.imageId),
        [NEW_AMI],
      );
      assert.match(result.stderr, /first deploy: the stack is created on ami-0abc1234567890def/);
    },
  );
});

Release.run();

const Database = suite('aws database through deploy and destroy');

Database(
  'deploy hands the database to Terraform protected; destroy lifts the protection, then names the final snapshot',
  async () => {
    await withAwsProject(
      {
        aws: defaultAccount(),
        envYaml: ['database: { engine: postgres, instance_class: db.t4g.small, storage_gb: 30 }'],
      },
      async (project) => {
        const deployed = await project.run('deploy.ts');
        assert.is(deployed.exitCode, 0, deployed.stderr);
        const inputs = async () =>
          JSON.parse(await readFile(join(project.stateDir, 'terraform.tfvars.json'), 'utf8')) as {
            database: Record<string, unknown> | null;
          };
        assert.equal((await inputs()).database, {
          engine: 'postgres',
          instance_class: 'db.t4g.small',
          storage_gb: 30,
          multi_az: false,
          backup_retention_days: 7,
          deletion_protection: true,
        });

        const destroyed = await project.run('destroy.ts', ['--yes']);
        assert.is(destroyed.exitCode, 0, destroyed.stderr);
        assert.match(destroyed.stderr, /final backup of the database: RDS snapshot demo-staging-final/);
        assert.is((await inputs()).database?.deletion_protection, false);
        const terraform = (await project.toolCalls())
          .filter((line) => line.startsWith('terraform') && !line.startsWith('terraform version'))
          .map((line) => line.split(' ')[1]);
        // deploy: init plan show apply output; destroy: the protection off, then destroy.
        assert.equal(terraform.slice(5), ['init', 'plan', 'show', 'apply', 'init', 'state', 'destroy']);
      },
    );
  },
);

Database.run();
