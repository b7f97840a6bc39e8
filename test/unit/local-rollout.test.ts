// The local target's pure decisions: which instances a rollout keeps and retires, and
// how HAProxy's `show stat` is read.

import * as assert from 'uvu/assert';
import { describeCheck, parseServerStats, type ServerState } from '../../pipeline/targets/local/lb-servers.ts';
import type { Instance } from '../../pipeline/targets/local/instances.ts';
import { isUnsettled, planFleet } from '../../pipeline/targets/local/rollout.ts';
import { suite } from '../support/suite.ts';

const NO_TRAFFIC = {
  sessions: 0,
  responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
  connectionErrors: 0,
  responseErrors: 0,
};
const NEW = { image: { id: 'sha256:new', fingerprint: 'f'.repeat(64) }, settingsDigest: 'd1' };

function instance(name: string, imageId: string, running = true, settings = 'd1'): Instance {
  return { name, imageId, fingerprint: 'f'.repeat(64), settings, running, address: '10.213.0.10' };
}

function server(name: string, status: string): ServerState {
  return {
    name,
    status,
    checkStatus: 'L7OK',
    checkCode: '200',
    lastCheck: '',
    currentSessions: 0,
    address: '10.213.0.10:8080',
    weight: 100,
    traffic: NO_TRAFFIC,
  };
}

const Fleet = suite('planFleet');

Fleet('a server HAProxy has not checked since it (re)started is not decided yet, nor one between states', () => {
  // As `show stat` reads right after a restarted LB loads its saved servers.
  assert.ok(isUnsettled({ ...server('a', 'UP 1/2'), checkStatus: 'INI' }));
  assert.ok(isUnsettled({ ...server('a', 'DOWN'), checkStatus: 'INI' }));
  assert.ok(isUnsettled(server('a', 'DOWN 1/2')), 'going up');
  assert.ok(isUnsettled(server('a', 'UP 1/3')), 'going down');
  assert.not.ok(isUnsettled(server('a', 'UP')));
  assert.not.ok(isUnsettled({ ...server('a', 'DOWN'), checkStatus: 'L7STS' }), 'checked and failed is decided');
});

Fleet('keeps running, UP instances on the wanted image, up to desired', () => {
  const fleet = planFleet(
    [instance('a', 'sha256:new'), instance('b', 'sha256:new'), instance('c', 'sha256:new')],
    [server('a', 'UP'), server('b', 'UP'), server('c', 'UP')],
    NEW,
    2,
  );
  assert.equal(
    fleet.keep.map((i) => i.name),
    ['a', 'b'],
  );
  assert.equal(
    fleet.retire.map((i) => i.name),
    ['c'],
  );
});

Fleet('retires instances on another image even when the fingerprint is the same (--rebake)', () => {
  const fleet = planFleet(
    [instance('a', 'sha256:old'), instance('b', 'sha256:old')],
    [server('a', 'UP'), server('b', 'UP')],
    NEW,
    2,
  );
  assert.equal(fleet.keep, []);
  assert.equal(
    fleet.retire.map((i) => i.name),
    ['a', 'b'],
  );
});

Fleet('retires instances on the wanted image started with other settings (env or secrets changed)', () => {
  const fleet = planFleet(
    [instance('a', 'sha256:new', true, 'd0'), instance('b', 'sha256:new', true, 'd1')],
    [server('a', 'UP'), server('b', 'UP')],
    NEW,
    2,
  );
  assert.equal(
    fleet.keep.map((i) => i.name),
    ['b'],
  );
  assert.equal(
    fleet.retire.map((i) => i.name),
    ['a'],
  );
});

Fleet('retires stopped, unregistered and unhealthy instances', () => {
  const fleet = planFleet(
    [
      instance('stopped', 'sha256:new', false),
      instance('unregistered', 'sha256:new'),
      instance('down', 'sha256:new'),
      instance('ok', 'sha256:new'),
    ],
    [server('stopped', 'UP'), server('down', 'DOWN'), server('ok', 'UP')],
    NEW,
    2,
  );
  assert.equal(
    fleet.keep.map((i) => i.name),
    ['ok'],
  );
  assert.equal(
    fleet.retire.map((i) => i.name),
    ['stopped', 'unregistered', 'down'],
  );
});

Fleet.run();

// Trimmed `show stat` output of HAProxy 2.6 (real column names, fewer columns).
const STAT = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,check_status,check_code,last_chk,addr',
  'web,FRONTEND,,,3,5,,100,OPEN,,,,,',
  'instances,app-local-1,0,0,2,4,,50,UP,100,L7OK,200,,10.213.0.10:8080',
  'instances,app-local-2,0,0,0,1,,9,DOWN 1/2,100,L7STS,500,HTTP status check returned code <3C>500<3E>,10.213.0.11:8080',
  'instances,BACKEND,0,0,2,4,,59,UP,100,,,,',
  '',
].join('\n');

const Stats = suite('parseServerStats');

Stats('reads the backend servers by column name, leaving out BACKEND and FRONTEND rows', () => {
  const servers = parseServerStats(STAT);
  assert.equal(
    servers.map((s) => [s.name, s.status, s.checkStatus, s.checkCode, s.currentSessions, s.address]),
    [
      ['app-local-1', 'UP', 'L7OK', '200', 2, '10.213.0.10:8080'],
      ['app-local-2', 'DOWN 1/2', 'L7STS', '500', 0, '10.213.0.11:8080'],
    ],
  );
});

Stats("describes a failing check with its HTTP status and HAProxy's words", () => {
  const failing = parseServerStats(STAT)[1] as ServerState;
  assert.is(
    describeCheck(failing),
    'app-local-2 is DOWN 1/2, last check L7STS (HTTP 500): HTTP status check returned code <3C>500<3E>',
  );
});

Stats('is empty for output without a header', () => {
  assert.equal(parseServerStats('Unknown command\n'), []);
});

Stats.run();
