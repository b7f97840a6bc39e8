// Placeholder for `bakery init` (writes a deploy.yaml from what an app's directory
// shows); its real implementation is built beside this one and replaces this file.

import type { Streams } from './session.ts';

export function initCommand(_argv: readonly string[], streams?: Pick<Streams, 'err'>): Promise<number> {
  (streams?.err ?? process.stderr).write('bakery init: not built yet\n');
  return Promise.resolve(2);
}
