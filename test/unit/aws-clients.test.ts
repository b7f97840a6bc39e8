// The SDK clients of the aws target (pipeline/targets/aws/clients.ts): they reach the
// endpoint AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL names (checked against fake AWS
// APIs on 127.0.0.1), make one attempt per call themselves, and carry the retry policy
// callAws uses (AWS_MAX_ATTEMPTS).

import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import * as assert from 'uvu/assert';
import { callAws, DEFAULT_RETRY } from '../../pipeline/targets/aws/call.ts';
import { activeEndpoints, createAwsClients } from '../../pipeline/targets/aws/clients.ts';
import { recordingIO } from '../helpers/aws-io.ts';
import { FakeAws } from '../fakes/aws-api.ts';
import { suite } from '../support/suite.ts';

const Clients = suite('aws clients');

const AWS_VARIABLES = /^AWS_/;

/** Runs `body` with exactly these AWS_* variables (fake credentials, no IMDS), then restores. */
async function withAwsEnv(variables: Record<string, string>, body: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.entries(process.env).filter(([name]) => AWS_VARIABLES.test(name)));
  for (const name of Object.keys(saved)) delete process.env[name];
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE1234',
    AWS_SECRET_ACCESS_KEY: 'fakeSecretKeyForTestsOnly/0123456789abcdefgh',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    ...variables,
  });
  try {
    await body();
  } finally {
    for (const name of Object.keys(process.env)) if (AWS_VARIABLES.test(name)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

Clients('calls are retried 8 times unless AWS_MAX_ATTEMPTS says otherwise', () => {
  assert.is(createAwsClients('eu-west-1', {}).retry.attempts, DEFAULT_RETRY.attempts);
  assert.is(DEFAULT_RETRY.attempts, 8);
  assert.is(createAwsClients('eu-west-1', { AWS_MAX_ATTEMPTS: '3' }).retry.attempts, 3);
  assert.is(createAwsClients('eu-west-1', { AWS_MAX_ATTEMPTS: 'lots' }).retry.attempts, DEFAULT_RETRY.attempts);
});

Clients('a service-specific endpoint wins over AWS_ENDPOINT_URL', async () => {
  const general = new FakeAws();
  const ec2Only = new FakeAws();
  const [generalUrl, ec2Url] = [await general.start(), await ec2Only.start()];
  try {
    await withAwsEnv({ AWS_ENDPOINT_URL: generalUrl, AWS_ENDPOINT_URL_EC2: ec2Url }, async () => {
      const clients = createAwsClients('eu-west-1', process.env);
      try {
        const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
        assert.is(identity.Account, '123456789012');
        const regions = await clients.ec2.send(
          new DescribeRegionsCommand({ AllRegions: true, RegionNames: ['eu-west-1'] }),
        );
        assert.is(regions.Regions?.[0]?.RegionName, 'eu-west-1');
      } finally {
        clients.destroy();
      }
      assert.equal(activeEndpoints(process.env).slice(0, 2), [
        `sts → ${generalUrl} (AWS_ENDPOINT_URL)`,
        `ec2 → ${ec2Url} (AWS_ENDPOINT_URL_EC2)`,
      ]);
    });
    assert.equal(
      general.calls.map((c) => `${c.service}:${c.action}`),
      ['sts:GetCallerIdentity'],
    );
    assert.equal(
      ec2Only.calls.map((c) => `${c.service}:${c.action}`),
      ['ec2:DescribeRegions'],
    );
  } finally {
    await general.stop();
    await ec2Only.stop();
  }
});

Clients('a throttled call through callAws is retried until it succeeds, each retry logged', async () => {
  const aws = new FakeAws({ throttle: { GetCallerIdentity: 2 } });
  const url = await aws.start();
  const io = recordingIO();
  try {
    await withAwsEnv({ AWS_ENDPOINT_URL: url }, async () => {
      const clients = createAwsClients('eu-west-1', {});
      try {
        const identity = await callAws(
          io,
          {
            call: 'sts:GetCallerIdentity',
            resource: 'the credentials',
            retry: { ...clients.retry, throttledBaseDelayMs: 5 },
          },
          (signal) => clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal }),
        );
        assert.is(identity.Account, '123456789012');
      } finally {
        clients.destroy();
      }
    });
    assert.is(aws.calls.length, 3, 'two throttled attempts, then the answer');
    assert.is(
      io.debugs.filter((line) => /attempt \d failed: Throttling: Rate exceeded; retrying/.test(line)).length,
      2,
    );
  } finally {
    await aws.stop();
  }
});

Clients(
  'the clients themselves do not retry, whatever AWS_MAX_ATTEMPTS tells the SDK: callAws is the one place',
  async () => {
    const aws = new FakeAws({ throttle: { GetCallerIdentity: 1 } });
    const url = await aws.start();
    try {
      await withAwsEnv({ AWS_ENDPOINT_URL: url, AWS_MAX_ATTEMPTS: '5', AWS_RETRY_MODE: 'adaptive' }, async () => {
        const clients = createAwsClients('eu-west-1', process.env);
        try {
          const error = await clients.sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
          assert.is((error as Error).name, 'Throttling');
        } finally {
          clients.destroy();
        }
      });
      assert.is(aws.calls.length, 1, 'one request: the SDK did not retry');
    } finally {
      await aws.stop();
    }
  },
);

Clients('endpoint overrides can be switched off like the SDK does', () => {
  assert.equal(
    activeEndpoints({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    [],
  );
  assert.equal(activeEndpoints({}), []);
});

Clients.run();
