// The test-only health address for runs against an AWS emulator
// (pipeline/targets/aws/emulator-health.ts): honoured only when every AWS endpoint is a
// loopback emulator, refused as bad input (exit 2) otherwise, and its dispatcher really
// sends a request for the load balancer's URL to the loopback server, Host unchanged.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import * as assert from 'uvu/assert';
import { EXIT, InputError } from '../../pipeline/errors.ts';
import { emulatorAlbAddress, loopbackDispatcher } from '../../pipeline/targets/aws/emulator-health.ts';
import { suite } from '../support/suite.ts';

const Health = suite('aws health address for an emulator');

const EMULATOR = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' };

function refusal(env: NodeJS.ProcessEnv): InputError {
  try {
    emulatorAlbAddress(env);
  } catch (error) {
    assert.instance(error, InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

Health('unset: no redirection, whatever the endpoints', () => {
  assert.is(emulatorAlbAddress({}), undefined);
  assert.is(emulatorAlbAddress({ ...EMULATOR }), undefined);
});

Health('with every endpoint on a loopback emulator: the address to connect to', () => {
  assert.equal(emulatorAlbAddress({ ...EMULATOR, BAKERY_TEST_EMULATOR_ALB: '127.0.0.1:19150' }), {
    host: '127.0.0.1',
    port: 19150,
  });
  assert.equal(
    emulatorAlbAddress({
      AWS_ENDPOINT_URL: 'http://localhost:5000',
      AWS_ENDPOINT_URL_CLOUDWATCH: 'http://127.0.0.1:5001',
      BAKERY_TEST_EMULATOR_ALB: 'localhost:8080',
    }),
    { host: 'localhost', port: 8080 },
  );
});

Health('against AWS itself it is refused (exit 2), naming the endpoints that are not an emulator', () => {
  const none = refusal({ BAKERY_TEST_EMULATOR_ALB: '127.0.0.1:19150' });
  assert.is(none.exitCode, EXIT.badInput);
  assert.match(
    none.message,
    /BAKERY_TEST_EMULATOR_ALB is set, but the sts, ec2, .* endpoints are not a loopback emulator/,
  );
  const one = refusal({
    ...EMULATOR,
    AWS_ENDPOINT_URL_CLOUDWATCH: 'https://monitoring.eu-west-1.amazonaws.com',
    BAKERY_TEST_EMULATOR_ALB: '127.0.0.1:19150',
  });
  assert.match(one.message, /the cloudwatch endpoint is not a loopback emulator/);
  const ignored = refusal({
    ...EMULATOR,
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
    BAKERY_TEST_EMULATOR_ALB: '127.0.0.1:19150',
  });
  assert.match(ignored.message, /not a loopback emulator/);
});

Health('an address that is not loopback with a port is refused with what is allowed', () => {
  for (const value of ['10.0.0.5:80', '127.0.0.1', 'example.com:80', '127.0.0.1:0', '127.0.0.1:70000']) {
    const error = refusal({ ...EMULATOR, BAKERY_TEST_EMULATOR_ALB: value });
    assert.ok(error.message.startsWith(`BAKERY_TEST_EMULATOR_ALB=${value} is not a loopback address`), error.message);
    assert.match(error.message, /like 127\.0\.0\.1:19150/);
  }
});

Health("the dispatcher sends the load balancer's URL to the loopback server, Host unchanged", async () => {
  const hosts: string[] = [];
  const server = createServer((req, res) => {
    hosts.push(`${req.headers.host} ${req.url}`);
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dispatcher = loopbackDispatcher({ host: '127.0.0.1', port });
  try {
    const answer = await request('http://demo-staging-123.eu-west-1.elb.amazonaws.com/health', { dispatcher });
    assert.is(answer.statusCode, 200);
    assert.is(await answer.body.text(), 'ok');
    assert.equal(hosts, ['demo-staging-123.eu-west-1.elb.amazonaws.com /health']);
  } finally {
    await dispatcher.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

Health('a refused connection is an error of the request, not a hang', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const dispatcher = loopbackDispatcher({ host: '127.0.0.1', port });
  try {
    const error = await request('http://lb.example/health', { dispatcher }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    assert.ok(error, 'the request failed');
    assert.is(error.code, 'ECONNREFUSED');
  } finally {
    await dispatcher.close();
  }
});

Health.run();
