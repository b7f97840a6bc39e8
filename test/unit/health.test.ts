import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as assert from 'uvu/assert';
import { DeployError, InterruptedError } from '../../pipeline/errors.ts';
import { probeOnce, waitForHttpHealthy, type HealthAttempt } from '../../pipeline/stages/http-health.ts';
import { suite } from '../support/suite.ts';

interface Context {
  server: Server;
  url: string;
  /** Status codes to answer with, in order; the last one repeats. */
  answers: number[];
  requests: number;
}

const health = suite<Context>('waitForHttpHealthy polls a loopback service');
health.before.each(async (context) => {
  context.answers = [200];
  context.requests = 0;
  context.server = createServer((request, response) => {
    const status = context.answers[Math.min(context.requests, context.answers.length - 1)] as number;
    context.requests++;
    if (status === 0) return; // never answer
    response.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end(`${request.url}\n`);
  });
  await new Promise<void>((resolve) => context.server.listen(0, '127.0.0.1', resolve));
  context.url = `http://127.0.0.1:${(context.server.address() as AddressInfo).port}/health`;
});
health.after.each(async ({ server }) => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const options = (context: Context, extra: Partial<Parameters<typeof waitForHttpHealthy>[0]> = {}) => ({
  url: context.url,
  healthyThreshold: 2,
  intervalMs: 20,
  timeoutMs: 500,
  deadlineMs: 5_000,
  signal: new AbortController().signal,
  ...extra,
});

health('returns once the service answers 200 the required number of times in a row', async (context) => {
  context.answers = [503, 200, 503, 200, 200, 200];
  const attempts: HealthAttempt[] = [];
  await waitForHttpHealthy(options(context, { healthyThreshold: 2, onAttempt: (attempt) => attempts.push(attempt) }));
  assert.equal(
    attempts.map((attempt) => [attempt.result, attempt.streak]),
    [
      ['503', 0],
      ['200', 1],
      ['503', 0],
      ['200', 1],
      ['200', 2],
    ],
  );
});

health('does not follow a redirect to a healthy page', async (context) => {
  context.answers = [302];
  assert.is(await probeOnce(context.url, 500), '302');
});

health('reports a refused connection by its code', async (context) => {
  const url = context.url;
  context.server.closeAllConnections();
  await new Promise((resolve) => context.server.close(resolve));
  context.server = createServer();
  assert.is(await probeOnce(url, 500), 'ECONNREFUSED');
});

health('gives up at the deadline, saying what it saw last and why', async (context) => {
  context.answers = [503];
  const started = Date.now();
  try {
    await waitForHttpHealthy(
      options(context, {
        deadlineMs: 1_000,
        explainTimeout: async () => ['instance 1: unhealthy (Target.ResponseCodeMismatch)'],
      }),
    );
    assert.unreachable('became healthy');
  } catch (error) {
    assert.instance(error, DeployError);
    assert.is(
      (error as DeployError).message,
      `${context.url} did not answer 200 2 times in a row within 1 s (last result: 503)`,
    );
    assert.equal((error as DeployError).details, ['instance 1: unhealthy (Target.ResponseCodeMismatch)']);
  }
  assert.ok(Date.now() - started < 3_000);
});

health('counts a request that takes longer than the timeout as a failure', async (context) => {
  context.answers = [0];
  const result = await probeOnce(context.url, 200);
  assert.not.equal(result, '200');
  assert.match(result, /Timeout|TIMEOUT/);
});

health('stops when interrupted', async (context) => {
  context.answers = [503];
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  try {
    await waitForHttpHealthy(options(context, { intervalMs: 1_000, deadlineMs: 10_000, signal: controller.signal }));
    assert.unreachable('became healthy');
  } catch (error) {
    assert.instance(error, InterruptedError);
  }
});

health.run();
