// The aws target's layered bake, end to end through ./deploy.ts with the fake packer and
// the fake AWS API: when the base-layer AMI is baked, found by its fingerprint, or baked
// again (too old, its inputs changed), which AMI each layer's bake starts from, and what
// retention keeps. Nothing leaves 127.0.0.1.

import * as assert from 'uvu/assert';
import { suite } from '../support/suite.ts';
import { defaultAccount, withAwsProject, type AwsProject } from '../helpers/aws-project.ts';

const Layered = suite('aws layered bake');

const DEBIAN = 'ami-0debian12base0001';
const BASE = 'ami-0ba5e00000000001';
const APP = 'ami-0abc1234567890def';

interface Build {
  layer: string;
  baseAmiId: string;
}

/** The fake packer's builds, in order: which layer, on which AMI. */
async function builds(project: AwsProject): Promise<Build[]> {
  return (await project.toolCalls())
    .filter((line) => line.startsWith('packer build'))
    .map((line) => ({
      layer: /PKR_VAR_bake_layer=(\S*)/.exec(line)?.[1] ?? '',
      baseAmiId: /PKR_VAR_base_ami_id=(\S*)/.exec(line)?.[1] ?? '',
    }));
}

/** The tags the fake API holds for an AMI. */
function tags(project: AwsProject, id: string): Record<string, string> {
  const image = project.aws.options.images?.find((i) => i.id === id);
  if (!image) throw new Error(`no AMI ${id}`);
  return image.tags;
}

Layered('a first deploy bakes the base layer on the Debian AMI, then the app layer on that base', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    const result = await project.run('deploy.ts');
    assert.is(result.exitCode, 0, result.stderr);
    assert.equal(await builds(project), [
      { layer: 'base', baseAmiId: DEBIAN },
      { layer: 'app', baseAmiId: BASE },
    ]);
    assert.is(tags(project, BASE)['bakery:layer'], 'base');
    assert.is(tags(project, APP)['bakery:layer'], 'app');
    assert.is(tags(project, APP)['bakery:built_from'], BASE);
    assert.match(result.stderr, /baking amazon-ebs\.app base layer [0-9a-f]{12}/);
    assert.match(result.stderr, /baking amazon-ebs\.app app layer [0-9a-f]{12}/);
    // The group runs the app layer, never the base layer.
    assert.match(result.stderr, new RegExp(`its first instances start on ${APP}`));
  });
});

Layered('an app change bakes only the app layer, on the base layer found by its fingerprint', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    // service.entrypoint goes into the app layer only.
    await project.editConfig((text) =>
      text.replace('    target: aws\n', '    target: aws\n    service: { entrypoint: "other:app" }\n'),
    );
    const second = await project.run('deploy.ts', [], { FAKE_PACKER_AMI: 'ami-0abc1234567890e00' });
    assert.is(second.exitCode, 0, second.stderr);
    assert.match(
      second.stderr,
      /base layer [0-9a-f]{12} already baked \(demo-staging-ba5e00000001-20261121000000, 0\.0 days old\)/,
    );
    assert.equal((await builds(project)).slice(2), [{ layer: 'app', baseAmiId: BASE }]);
    assert.is(tags(project, 'ami-0abc1234567890e00')['bakery:built_from'], BASE);
  });
});

Layered(
  'a base layer older than image.base_max_age_days is baked again, and the app layer on the new one',
  async () => {
    await withAwsProject(
      { aws: defaultAccount(), envYaml: ['image: { keep: 1, base_max_age_days: 7 }'] },
      async (project) => {
        assert.is((await project.run('deploy.ts')).exitCode, 0);
        project.aws.backdate(BASE, 8);
        const second = await project.run('deploy.ts', [], {
          FAKE_PACKER_BASE_AMI: 'ami-0ba5e00000000002',
          FAKE_PACKER_AMI: 'ami-0abc1234567890e00',
        });
        assert.is(second.exitCode, 0, second.stderr);
        assert.match(
          second.stderr,
          /base layer [0-9a-f]{12} is 8\.0 days old, older than image\.base_max_age_days \(7\): baking it again for the latest security updates/,
        );
        assert.equal((await builds(project)).slice(2), [
          { layer: 'base', baseAmiId: DEBIAN },
          { layer: 'app', baseAmiId: 'ami-0ba5e00000000002' },
        ]);
        // image.keep 1: the release before and the base only it stood on go, the new pair stays.
        assert.equal([...project.aws.deregistered].sort(), [APP, BASE]);
      },
    );
  },
);

Layered('with image.keep 2 the previous release keeps its older base layer', async () => {
  await withAwsProject(
    { aws: defaultAccount(), envYaml: ['image: { keep: 2, base_max_age_days: 7 }'] },
    async (project) => {
      assert.is((await project.run('deploy.ts')).exitCode, 0);
      project.aws.backdate(BASE, 8);
      const second = await project.run('deploy.ts', [], {
        FAKE_PACKER_BASE_AMI: 'ami-0ba5e00000000002',
        FAKE_PACKER_AMI: 'ami-0abc1234567890e00',
      });
      assert.is(second.exitCode, 0, second.stderr);
      assert.equal(project.aws.deregistered, [], 'the way back (the first release and its base) is kept');
    },
  );
});

Layered("a change to the base layer's inputs (service.packages) bakes it again although it is young", async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    await project.editConfig((text) =>
      text.replace('    target: aws\n', '    target: aws\n    service: { packages: [libpq5] }\n'),
    );
    const second = await project.run('deploy.ts', [], {
      FAKE_PACKER_BASE_AMI: 'ami-0ba5e00000000002',
      FAKE_PACKER_AMI: 'ami-0abc1234567890e00',
    });
    assert.is(second.exitCode, 0, second.stderr);
    assert.not.match(second.stderr, /already baked/);
    assert.equal((await builds(project)).slice(2), [
      { layer: 'base', baseAmiId: DEBIAN },
      { layer: 'app', baseAmiId: 'ami-0ba5e00000000002' },
    ]);
  });
});

Layered('--rebake=all bakes both layers; a plain --rebake only the app layer', async () => {
  await withAwsProject({ aws: defaultAccount() }, async (project) => {
    assert.is((await project.run('deploy.ts')).exitCode, 0);
    assert.is((await project.run('deploy.ts', ['--rebake'], { FAKE_TF_PLAN: 'nochange' })).exitCode, 0);
    assert.equal((await builds(project)).slice(2), [{ layer: 'app', baseAmiId: BASE }]);
    assert.is((await project.run('deploy.ts', ['--rebake=all'], { FAKE_TF_PLAN: 'nochange' })).exitCode, 0);
    assert.equal(
      (await builds(project)).slice(3).map((build) => build.layer),
      ['base', 'app'],
    );
  });
});

Layered.run();
