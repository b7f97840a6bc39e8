// The "Docker not reachable" hint names the socket DOCKER_HOST points at, not always the default one.

import * as assert from 'uvu/assert';
import { dockerReachabilityHint } from '../../pipeline/targets/local/preflight.ts';
import { suite } from '../support/suite.ts';

const Hint = suite('docker reachability hint');

Hint('without DOCKER_HOST it names the default socket', () => {
  assert.match(dockerReachabilityHint(undefined), /this user may use \/var\/run\/docker\.sock$/);
  assert.match(dockerReachabilityHint('  '), /\/var\/run\/docker\.sock$/);
});

Hint('a unix DOCKER_HOST names that socket', () => {
  const hint = dockerReachabilityHint('unix:///run/user/1000/docker.sock');
  assert.match(hint, /^DOCKER_HOST=unix:\/\/\/run\/user\/1000\/docker\.sock: /);
  assert.match(hint, /this user may use \/run\/user\/1000\/docker\.sock /);
});

Hint('a tcp or ssh DOCKER_HOST names the remote engine, not a local socket', () => {
  const hint = dockerReachabilityHint('tcp://10.0.0.5:2376');
  assert.match(hint, /^DOCKER_HOST=tcp:\/\/10\.0\.0\.5:2376: check that the engine there is running/);
  assert.not.match(hint, /this user may use/);
});

Hint.run();
