// pip's configured index for an app's requirements in an end-to-end bake: a file:// index
// (a mirror on this machine) served on 127.0.0.1 as the http URL bakery's wheelhouse
// accepts; without one, PyPI (no index_url).

import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize, resolve } from 'node:path';

/**
 * pip's configured index, as an http URL bakery's wheelhouse accepts: a file:// index
 * (a mirror on this machine) is served on 127.0.0.1; without one, PyPI (no index_url).
 */
export async function pipIndex(port: number): Promise<{ url?: string; server?: Server }> {
  let config: string;
  try {
    config = execFileSync('python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' });
  } catch {
    return {};
  }
  const match = /^global\.(?:extra-)?index-url='(file:\/\/[^' ]+)/m.exec(config);
  if (!match) return {};
  // .../simple/NAME/index.html links ../../files/…: serve the directory above simple/.
  const simple = new URL(match[1] as string).pathname.replace(/\/$/, '');
  const root = resolve(simple, '..');
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    const file = join(root, path, path.endsWith('/') ? 'index.html' : '');
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    stat(file)
      .then((found) => {
        if (found.isDirectory()) {
          res.writeHead(301, { location: `${path}/` }).end();
          return;
        }
        // pip reads an index page only when it says it is HTML.
        res.writeHead(200, file.endsWith('.html') ? { 'content-type': 'text/html' } : {});
        createReadStream(file).pipe(res);
      })
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${port}/${simple.slice(root.length + 1)}`, server };
}
