// The verify stage, the same on every target: the load balancer first counts every
// desired backend healthy (the target's own view), then the service's health path
// answers 200 through it enough times in a row, all within health.deadline_s.

import type { Environment } from '../config/schema.ts';
import type { StageIO } from '../context.ts';
import type { AnyTarget, Provisioned } from '../targets/target.ts';
import { waitForHttpHealthy } from './http-health.ts';

/** How often the HTTP poll asks: our own service, so once a second is cheap and quick. */
const HTTP_POLL_MS = 1000;
/** A request through the load balancer may take the backend's check timeout plus the LB's own hop. */
const LB_HOP_MS = 1000;

export async function verifyHealthy(
  io: StageIO,
  target: AnyTarget,
  stack: Provisioned,
  env: Environment,
): Promise<void> {
  const deadline = Date.now() + env.health.deadline_s * 1000;
  await target.waitForBackends(io, stack, deadline);

  const url = new URL(env.service.health_path, stack.url).href;
  const dispatcher = target.healthDispatcher?.(stack);
  try {
    await waitForHttpHealthy({
      url,
      healthyThreshold: env.health.healthy_threshold,
      intervalMs: Math.min(env.health.interval_s * 1000, HTTP_POLL_MS),
      timeoutMs: env.health.timeout_s * 1000 + LB_HOP_MS,
      deadlineMs: Math.max(1000, deadline - Date.now()),
      signal: io.signal,
      debug: (text) => io.debug(text),
      ...(dispatcher ? { dispatcher } : {}),
      onAttempt: (attempt) =>
        io.progress(`GET ${url} → ${attempt.result} (${attempt.streak}/${env.health.healthy_threshold})`),
      explainTimeout: () => target.explainUnhealthy(io, stack),
    });
  } finally {
    await dispatcher?.close();
  }
}
