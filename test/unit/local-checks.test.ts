// HAProxy's check intervals on the local target: health.interval_s, in fractions of a
// second too, reaches the load balancer's config and every server registered at run time.

import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load.ts';
import type { LocalEnvironment } from '../../pipeline/config/schema.ts';
import { checkKeywords, checkTimings, renderHaproxyConfig } from '../../pipeline/targets/local/lb-servers.ts';
import { REPO_ROOT } from '../support/files.ts';
import { suite } from '../support/suite.ts';

function localEnv(health = ''): LocalEnvironment {
  const text = `app: shop\nenvironments:\n  local:\n    target: local\n${health ? `    health: ${health}\n` : ''}`;
  return parseConfig(text, '/nonexistent/deploy.yaml').environments.local as LocalEnvironment;
}

const Timings = suite('checkTimings');

Timings('checks settled servers every interval_s, and servers in transition or DOWN twice as often', () => {
  assert.equal(checkTimings(localEnv().health), { inter: 500, fastinter: 250, downinter: 250 });
  assert.equal(checkTimings(localEnv('{ interval_s: 0.25 }').health), { inter: 250, fastinter: 125, downinter: 125 });
  assert.equal(checkTimings(localEnv('{ interval_s: 3, timeout_s: 2 }').health), {
    inter: 3000,
    fastinter: 1500,
    downinter: 1500,
  });
});

Timings('never checks faster than every 100 ms, nor slower in transition than when settled', () => {
  assert.equal(checkTimings(localEnv('{ interval_s: 0.1 }').health), { inter: 100, fastinter: 100, downinter: 100 });
  assert.equal(checkTimings(localEnv('{ interval_s: 0.15 }').health), { inter: 150, fastinter: 100, downinter: 100 });
});

Timings('are what the rendered config and a registered server both carry', async () => {
  const env = localEnv('{ interval_s: 0.25, healthy_threshold: 3 }');
  const keywords = checkKeywords(env.health);
  assert.is(keywords, 'inter 250ms fastinter 125ms downinter 125ms rise 3 fall 2');
  const text = await renderHaproxyConfig(REPO_ROOT, env);
  assert.match(text, `default-server check ${keywords}\n`);
  assert.match(text, 'timeout check 1000ms\n');
});

Timings.run();
