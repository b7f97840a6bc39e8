// The app's directory as the detectors see it: its files (a few levels deep, without what
// never goes into an image) and their text, each read once.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isIgnored, listFiles, readSourceIgnore } from '../bake/source-files.ts';
import { BAKERY_ROOT } from '../install.ts';

/** Deep enough for src/PACKAGE/app.py and PROJECT/wsgi.py; an app's entrypoint is not buried further. */
const MAX_DEPTH = 3;
/** Files larger than this are not source code anyone's entrypoint lives in. */
const MAX_READ_BYTES = 512 * 1024;

export interface AppFiles {
  /** The app's directory. */
  dir: string;
  /** POSIX paths relative to dir, sorted. */
  paths: readonly string[];
  has(path: string): boolean;
  /** The file's text ("" when it cannot be read or is too large to be source). */
  read(path: string): Promise<string>;
  /** The Python files, shallowest first (an entrypoint at the top wins over one in a subpackage). */
  pythonFiles(): string[];
}

export async function readAppFiles(dir: string): Promise<AppFiles> {
  const ignore = await readSourceIgnore(BAKERY_ROOT);
  const paths = await listFiles(
    dir,
    (path, name) => isIgnored(name, ignore) || name.startsWith('.') || path.split('/').length > MAX_DEPTH,
  );
  const known = new Set(paths);
  const texts = new Map<string, Promise<string>>();
  const depth = (path: string): number => path.split('/').length;
  return {
    dir,
    paths,
    has: (path) => known.has(path),
    read(path) {
      let text = texts.get(path);
      if (!text) {
        text = readFile(join(dir, path), 'utf8').then(
          (content) => (content.length > MAX_READ_BYTES ? '' : content),
          () => '',
        );
        texts.set(path, text);
      }
      return text;
    },
    pythonFiles: () =>
      paths.filter((path) => path.endsWith('.py')).sort((a, b) => depth(a) - depth(b) || a.localeCompare(b)),
  };
}

/** The module a Python file is imported as from the app's directory: "shop/app.py" is "shop.app". */
export function moduleOf(path: string): string {
  return path
    .replace(/\.py$/, '')
    .replace(/\/__init__$/, '')
    .split('/')
    .join('.');
}
