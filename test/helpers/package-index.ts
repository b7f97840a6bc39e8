// A wheel built by the test and a PEP 503 "simple" index serving it on 127.0.0.1, so
// real pip resolves real requirements over HTTP with no PyPI.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Writes a minimal, valid wheel (PEP 427) with the standard library: no build backend.
const BUILD_WHEEL = `
import base64, hashlib, sys, zipfile
out, name, version, module, source = sys.argv[1:6]
dist = name.replace("-", "_")
info = f"{dist}-{version}.dist-info"
files = {
    f"{module}/__init__.py": source.encode(),
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: bakery-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
record = "".join(f"{path},{digest(data)},{len(data)}\\n" for path, data in files.items()) + f"{info}/RECORD,,\\n"
files[f"{info}/RECORD"] = record.encode()
path = f"{out}/{dist}-{version}-py3-none-any.whl"
with zipfile.ZipFile(path, "w") as wheel:
    for name_, data in files.items():
        wheel.writestr(zipfile.ZipInfo(name_, (2020, 1, 1, 0, 0, 0)), data)
print(path)
`;

export interface BuiltWheel {
  path: string;
  sha256: string;
}

/** Builds `name`-`version` (one module holding `source`) into `directory` with Debian's Python. */
export async function buildWheel(
  directory: string,
  name: string,
  version: string,
  module: string,
  source: string,
): Promise<BuiltWheel> {
  const { stdout } = await run('/usr/bin/python3', ['-c', BUILD_WHEEL, directory, name, version, module, source]);
  const path = stdout.trim();
  return {
    path,
    sha256: createHash('sha256')
      .update(await readFile(path))
      .digest('hex'),
  };
}

export interface PackageIndex {
  url: string;
  /** Paths pip asked for. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves /simple/ and /simple/<project>/ (PEP 503) and the wheel files, on 127.0.0.1:port. */
export async function servePackageIndex(port: number, projects: Record<string, BuiltWheel[]>): Promise<PackageIndex> {
  const requests: string[] = [];
  const files = new Map<string, string>();
  for (const wheels of Object.values(projects)) for (const wheel of wheels) files.set(basename(wheel.path), wheel.path);
  const page = (links: string[]) => `<!DOCTYPE html><html><body>\n${links.join('<br>\n')}\n</body></html>\n`;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] as string;
    requests.push(path);
    const send = (status: number, type: string, body: string | Buffer) => {
      response.writeHead(status, { 'Content-Type': type });
      response.end(body);
    };
    if (path === '/simple/') {
      send(200, 'text/html', page(Object.keys(projects).map((name) => `<a href="${name}/">${name}</a>`)));
      return;
    }
    const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
    if (project !== undefined) {
      const wheels = projects[project];
      if (!wheels) return send(404, 'text/plain', 'no such project\n');
      const links = wheels.map(
        (w) => `<a href="/files/${basename(w.path)}#sha256=${w.sha256}">${basename(w.path)}</a>`,
      );
      return send(200, 'text/html', page(links));
    }
    const file = /^\/files\/([^/]+)$/.exec(path)?.[1];
    const local = file ? files.get(file) : undefined;
    if (local) {
      readFile(local).then(
        (data) => send(200, 'application/octet-stream', data),
        () => send(500, 'text/plain', 'unreadable\n'),
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/simple`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
