import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import type { RunContext, StageIO } from '../../pipeline/context.ts';
import type { DeployResults } from '../../pipeline/stages/deploy-stages.ts';
import { readDeploymentRecord } from '../../pipeline/state/record.ts';
import { localHistory } from '../../pipeline/state/history.ts';
import type { DeployTarget, ImageRef, PrunePolicy } from '../../pipeline/targets/target.ts';
import { RecordingReporter } from '../support/fakes.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// deploy-stages.ts reaches execa through the bake, so it is loaded with import() (see
// process.test.ts).
const pipeline = {} as {
  stages: typeof import('../../pipeline/stages/deploy-stages.ts');
  runner: typeof import('../../pipeline/stages/run-stages.ts');
};

interface Context {
  dir: string;
  server: Server;
  url: string;
  pruneAsked: PrunePolicy[];
}

const IMAGE: ImageRef = { id: 'sha256:new', fingerprint: 'f'.repeat(64), name: 'shop:new' };

/** A target whose every step succeeds at once; its images are the ones a test names. */
function fakeTarget(context: Context): DeployTarget<{ checked: true }> {
  return {
    name: 'local',
    packerSource: 'docker.app',
    images: {
      findByFingerprint: async () => undefined,
      resolve: async () => IMAGE,
      adopt: async () => IMAGE,
      prune: async (_io, policy) => {
        context.pruneAsked.push(policy);
        return ['shop:old-1', 'shop:old-2'];
      },
      removeLeakedBuilders: async () => ['packer-builder-1'],
      removeAll: async () => [],
    },
    preflight: async () => ({ checked: true }),
    preflightDestroy: async () => {},
    baseImageIdentity: async () => 'base',
    bakeVariables: () => ({}),
    provision: async (_io, _image, facts) => {
      assert.equal(facts, { checked: true }, 'provision gets the facts preflight found');
      return { url: context.url };
    },
    plan: async () => ({ provision: 'nothing', rollout: 'nothing' }),
    rollout: async () => ({ started: ['shop-1'], kept: [], retired: [] }),
    runOneOff: async () => {
      throw new Error('no release is configured in this test');
    },
    servesAlready: async () => false,
    waitForBackends: async () => {},
    explainUnhealthy: async () => [],
    teardown: async () => ({ removed: [] }),
  };
}

const io = (stage: string): StageIO => ({
  stage,
  signal: new AbortController().signal,
  run: async () => {
    throw new Error('no tool runs in this test');
  },
  progress: () => {},
  info: () => {},
  warn: () => {},
  note: () => {},
  debug: () => {},
});

const stages = suite<Context>('the deploy stages report what they did');
stages.before(async () => {
  pipeline.stages ??= await import('../../pipeline/stages/deploy-stages.ts');
  pipeline.runner ??= await import('../../pipeline/stages/run-stages.ts');
});
stages.before.each(async (context) => {
  context.dir = makeTempDir();
  context.pruneAsked = [];
  context.server = createServer((_request, response) => response.end('ok'));
  await new Promise<void>((resolve) => context.server.listen(0, '127.0.0.1', resolve));
  context.url = `http://127.0.0.1:${(context.server.address() as AddressInfo).port}/`;
});
stages.after.each(async (context) => {
  await new Promise((resolve) => context.server.close(resolve));
  removeDir(context.dir);
});

async function deploy(context: Context) {
  const config = parseConfig(
    'app: shop\nenvironments:\n  local:\n    target: local\n    health: { interval_s: 1, healthy_threshold: 2 }\n',
  );
  const stateDir = join(context.dir, '.deploy', 'local');
  const run = {
    root: context.dir,
    config,
    env: selectEnvironment(config, 'local'),
    stateDir,
    history: localHistory(stateDir),
    processEnv: {},
  } as unknown as RunContext;
  const list = pipeline.stages.deployStages(run, fakeTarget(context), {
    rebake: 'none',
    image: 'shop:new',
    strategy: 'rolling',
    settings: { variables: {}, secretValues: [] },
  });
  const outcome = await pipeline.runner.runStages<DeployResults<{ checked: true }>>(
    list,
    {},
    {
      reporter: new RecordingReporter(),
      dryRun: false,
      signal: new AbortController().signal,
      ioFor: io,
    },
  );
  return { outcome, stateDir };
}

stages('the record is written by its own stage, after verify, and returned', async (context) => {
  const { outcome, stateDir } = await deploy(context);
  assert.is(outcome.error, undefined);
  const names = outcome.summaries.map((summary) => summary.name);
  assert.equal(names.slice(names.indexOf('verify')), ['verify', 'record', 'prune']);
  const written = await readDeploymentRecord(stateDir);
  assert.is(written?.image, 'sha256:new');
  assert.is(written?.url, context.url);
  assert.equal(outcome.context.record, written);
});

stages('prune returns what retention removed, and bake-base the builders it removed', async (context) => {
  const { outcome } = await deploy(context);
  assert.equal(outcome.context.pruned, ['shop:old-1', 'shop:old-2']);
  assert.is(context.pruneAsked[0]?.inUse.id, 'sha256:new');
  assert.equal(outcome.context.removedBuilders, ['packer-builder-1']);
});

stages.run();
