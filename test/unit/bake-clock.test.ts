// The bake's own account of its seconds, from Packer's lines as they arrive.

import * as assert from 'uvu/assert';
import { BakeClock, describeBakeTiming } from '../../pipeline/bake/bake-clock.ts';
import { suite } from '../support/suite.ts';

/** A clock the test moves by hand. */
function fakeNow(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

const line = (text: string): string => `1765150000,,ui,message,    docker.app: ${text}`;

const Clock = suite('BakeClock');

Clock('splits a bake into inputs, builder, Ansible task by task, and the image', () => {
  const time = fakeNow();
  const clock = new BakeClock(time.now);
  time.advance(300);
  clock.prepared();
  time.advance(1200);
  clock.line(line('==> docker.app: Starting docker container...'));
  clock.line(line('PLAY [Bake the service image] ***'));
  time.advance(100);
  clock.line(line("TASK [app : Install from the runner's archive the files of app] ***"));
  time.advance(900);
  clock.line(line('TASK [app : Enable the service at boot] ***'));
  time.advance(400);
  clock.line(line('RUNNING HANDLER [app : Restart the service] ***'));
  time.advance(100);
  clock.line(line('PLAY RECAP ***'));
  time.advance(1000);
  const timing = clock.finish();
  assert.equal(timing, {
    prepareS: 0.3,
    builderS: 1.2,
    ansibleS: 1.5,
    finishS: 1,
    totalS: 4,
    tasks: [
      { task: "app : Install from the runner's archive the files of app", seconds: 0.9 },
      { task: 'app : Enable the service at boot', seconds: 0.4 },
      { task: 'app : Restart the service', seconds: 0.1 },
    ],
  });
  assert.is(
    describeBakeTiming(timing, 2),
    "4.0 s: inputs 0.3, builder 1.2, Ansible 1.5 (3 tasks; slowest: app : Install from the runner's archive the files of app 0.9, app : Enable the service at boot 0.4), image 1.0",
  );
});

Clock('adds up a task that runs once per loop item of an include', () => {
  const time = fakeNow();
  const clock = new BakeClock(time.now);
  clock.prepared();
  clock.line(line('PLAY [Bake] ***'));
  for (const ms of [200, 300]) {
    clock.line(line('TASK [app : Create the directory of app] ***'));
    time.advance(ms);
    clock.line(line('TASK [app : something else] ***'));
  }
  clock.line(line('PLAY RECAP ***'));
  assert.equal(clock.finish().tasks[0], { task: 'app : Create the directory of app', seconds: 0.5 });
});

Clock('reads the commas Packer escapes', () => {
  const time = fakeNow();
  const clock = new BakeClock(time.now);
  clock.line(line('PLAY [Bake] ***'));
  clock.line(line('TASK [app : Copy%!(PACKER_COMMA) then unpack] ***'));
  time.advance(500);
  assert.equal(clock.finish().tasks, [{ task: 'app : Copy, then unpack', seconds: 0.5 }]);
});

Clock.run();
