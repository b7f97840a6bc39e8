// A Flask or FastAPI app object (or a Flask app factory) in the app's Python files: the
// shallowest file that makes one is the entrypoint.

import type { AppInterface } from '../config/schema.ts';
import { moduleOf, type AppFiles } from './app-files.ts';
import { guess, type Findings } from './guess.ts';

export type Framework = 'flask' | 'fastapi';

const SERVES: Record<Framework, AppInterface> = { flask: 'wsgi', fastapi: 'asgi' };
const NAMES: Record<Framework, string> = { flask: 'Flask', fastapi: 'FastAPI' };

export interface AppObject {
  framework: Framework;
  /** module:attribute or module:factory(). */
  entrypoint: string;
  /** The file and what in it made the app, for the reason line. */
  found: string;
}

/** The app a Python file makes at module level (`app = Flask(__name__)`), or its factory. */
export function findAppObject(path: string, text: string): AppObject | undefined {
  const module = moduleOf(path);
  for (const framework of ['fastapi', 'flask'] as const) {
    const name = NAMES[framework];
    const object = new RegExp(`^([A-Za-z_]\\w*)\\s*(?::\\s*[\\w.]+\\s*)?=\\s*(?:\\w+\\.)?${name}\\(`, 'm').exec(text);
    if (object) {
      const attribute = object[1] as string;
      return { framework, entrypoint: `${module}:${attribute}`, found: `${path} makes ${attribute} = ${name}(…)` };
    }
  }
  // A Flask factory callable without arguments (every parameter has a default).
  const factory = /^def (create_app|make_app)\(([^)]*)\)/m.exec(text);
  if (factory && /\bFlask\(/.test(text) && parametersAllDefault(factory[2] as string)) {
    const name = factory[1] as string;
    return { framework: 'flask', entrypoint: `${module}:${name}()`, found: `${path} has the Flask factory ${name}()` };
  }
  return undefined;
}

function parametersAllDefault(parameters: string): boolean {
  return parameters
    .split(',')
    .map((parameter) => parameter.trim())
    .filter((parameter) => parameter !== '' && parameter !== '*' && !parameter.startsWith('*'))
    .every((parameter) => parameter.includes('='));
}

export async function findApp(files: AppFiles): Promise<AppObject | undefined> {
  for (const path of files.pythonFiles()) {
    const found = findAppObject(path, await files.read(path));
    if (found) return found;
  }
  return undefined;
}

export function detectPythonApp(app: AppObject | undefined): Findings {
  if (!app) return { guesses: [], missed: ['no Flask or FastAPI app object in the Python files'] };
  const server = SERVES[app.framework] === 'asgi' ? 'Uvicorn' : 'Waitress';
  return {
    guesses: [
      guess('service.entrypoint', app.entrypoint, `${NAMES[app.framework]} app: ${app.found}`),
      guess(
        'service.interface',
        SERVES[app.framework],
        `${NAMES[app.framework]} is ${SERVES[app.framework].toUpperCase()}; bakery serves it with ${server}`,
      ),
    ],
    missed: [],
  };
}
