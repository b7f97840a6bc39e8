// The path the load balancer polls: a health-like route the app already has (Flask,
// FastAPI or Django routes), else "/", which most apps answer.

import type { AppFiles } from './app-files.ts';
import { guess, type Findings } from './guess.ts';

/** Route names that mean "am I up", best first. */
const HEALTH_NAMES = [
  'health',
  'healthz',
  'healthcheck',
  'health-check',
  'health_check',
  '_health',
  'livez',
  'readyz',
  'ready',
  'ping',
];

// `@app.get("/health")`, `@bp.route('/healthz')`, `path("health/", …)`, `re_path(r"^ping$", …)`.
const ROUTE = /(?:\.(?:get|route|api_route|head)|\b(?:re_)?path)\(\s*r?["']\^?\/?([A-Za-z0-9._~/-]*?)\/?\$?["']/g;

/** Health-like routes in one file's text, as URL paths ("/health", "/api/healthz/"). */
export function healthRoutes(text: string): string[] {
  const routes: string[] = [];
  for (const match of text.matchAll(ROUTE)) {
    const route = match[1] as string;
    const last = route.split('/').pop() ?? '';
    if (!HEALTH_NAMES.includes(last)) continue;
    // Django routes keep their trailing slash (APPEND_SLASH redirects the other form).
    const slash = /\/\$?["']$/.test(match[0]) ? '/' : '';
    routes.push(`/${route}${slash}`);
  }
  return routes;
}

const rank = (path: string): number => HEALTH_NAMES.indexOf(path.replace(/\/$/, '').split('/').pop() ?? '');

export async function detectHealth(files: AppFiles): Promise<Findings> {
  const found: { path: string; file: string }[] = [];
  for (const file of files.pythonFiles()) {
    for (const path of healthRoutes(await files.read(file))) found.push({ path, file });
  }
  const best = found.sort((a, b) => rank(a.path) - rank(b.path))[0];
  if (best) {
    return {
      guesses: [guess('service.health_path', best.path, `${best.file} has the route ${best.path}`)],
      missed: [],
    };
  }
  return {
    guesses: [guess('service.health_path', '/', 'no /health-like route found: the load balancer polls "/"')],
    missed: [`no route named ${HEALTH_NAMES.join(', ')}`],
  };
}
