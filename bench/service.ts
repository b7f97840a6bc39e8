// Benchmark the service on real Waitress over loopback: requests/s and p50/p99
// latency of /health and /. Run with `npx tsx bench/service.ts`.
import autocannon, { type Result } from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServiceBenchOptions {
  /** Seconds of load per route. */
  durationS: number;
  connections: number;
  paths: string[];
  /** Seconds of unrecorded load before the measured runs, to warm caches and threads. */
  warmupS: number;
  /** Waitress worker threads (APP_THREADS). */
  threads: number;
  python: string;
  serviceDir: string;
}

export interface RouteBenchResult {
  path: string;
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface ServiceBenchResult {
  kind: 'service';
  date: string;
  durationS: number;
  connections: number;
  threads: number;
  runtime: { python: string; flask: string; node: string; cpus: number; cpuModel: string; platform: string };
  routes: RouteBenchResult[];
  /** Exit status of the service after SIGTERM: 0 means it drained cleanly. */
  stopExitCode: number | null;
}

export const defaultServiceBenchOptions: ServiceBenchOptions = {
  durationS: 10,
  connections: 20,
  paths: ['/health', '/'],
  warmupS: 1,
  threads: 8,
  python: '/usr/bin/python3',
  serviceDir: path.join(repoRoot, 'service'),
};

interface RunningService {
  child: ChildProcess;
  baseUrl: string;
  /** Last lines of output, for error messages. */
  tail: string[];
}

/** Start Waitress on a free loopback port and run the routes under load; always stop it. */
export async function benchService(options: Partial<ServiceBenchOptions> = {}): Promise<ServiceBenchResult> {
  const opts = { ...defaultServiceBenchOptions, ...options };
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bakery-bench-'));
  let service: RunningService | undefined;
  try {
    const buildInfoPath = await writeBuildInfo(scratch);
    service = await startService(opts, buildInfoPath);
    const runtime = await readRuntime(service.baseUrl);
    if (opts.warmupS > 0) {
      await autocannon({ url: service.baseUrl + '/health', connections: opts.connections, duration: opts.warmupS });
    }
    const routes: RouteBenchResult[] = [];
    for (const route of opts.paths) {
      const result = await autocannon({
        url: service.baseUrl + route,
        connections: opts.connections,
        duration: opts.durationS,
      });
      routes.push(summarize(route, result));
    }
    const stopExitCode = await stopService(service);
    service = undefined;
    return {
      kind: 'service',
      date: new Date().toISOString(),
      durationS: opts.durationS,
      connections: opts.connections,
      threads: opts.threads,
      runtime,
      routes,
      stopExitCode,
    };
  } finally {
    if (service) await stopService(service);
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Write a realistic build-info file so / renders as it does on a baked image. */
async function writeBuildInfo(dir: string): Promise<string> {
  const file = path.join(dir, 'build-info.json');
  const buildInfo = {
    app: 'bakery-service',
    version: 'bench',
    fingerprint: 'b'.repeat(64),
    git_revision: '0'.repeat(40),
    baked_at: new Date().toISOString(),
    environment: 'bench',
  };
  await writeFile(file, JSON.stringify(buildInfo));
  return file;
}

/** Spawn the demo under bakery's launcher with APP_PORT=0 and wait until it listens and answers /health. */
async function startService(opts: ServiceBenchOptions, buildInfoPath: string): Promise<RunningService> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('APP_')));
  const child = spawn(opts.python, ['-m', 'bakery_launcher', '--entrypoint', 'bakery_service:create_app()'], {
    cwd: opts.serviceDir,
    env: {
      ...env,
      PYTHONPATH: `${opts.serviceDir}:${path.join(opts.serviceDir, '..', 'launcher')}`,
      PYTHONDONTWRITEBYTECODE: '1',
      APP_HOST: '127.0.0.1',
      APP_PORT: '0',
      APP_THREADS: String(opts.threads),
      APP_BUILD_INFO: buildInfoPath,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const port = new Promise<number>((resolve, reject) => {
    // Keep reading all output for the whole run: a full pipe would block the
    // server's access-log writes and distort the numbers.
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const match = LISTENING.exec(line);
        if (match) resolve(Number(match[1]));
      });
    }
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`service exited (${signal ?? code}) before listening:\n${tail.join('\n')}`)),
    );
    setTimeout(
      () => reject(new Error(`service did not listen within ${STARTUP_TIMEOUT_MS} ms:\n${tail.join('\n')}`)),
      STARTUP_TIMEOUT_MS,
    ).unref();
  });
  const service: RunningService = { child, baseUrl: '', tail };
  try {
    service.baseUrl = `http://127.0.0.1:${await port}`;
    await waitForHealth(service.baseUrl);
    return service;
  } catch (error) {
    await stopService(service);
    throw error;
  }
}

/** Poll /health until it answers 200. */
async function waitForHealth(baseUrl: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(baseUrl + '/health');
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl}/health did not answer 200 within ${STARTUP_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Read the Python and Flask versions the service reports, plus this machine's facts. */
async function readRuntime(baseUrl: string): Promise<ServiceBenchResult['runtime']> {
  const info = (await (await fetch(baseUrl + '/api/info')).json()) as { python: string; flask: string };
  const cpus = os.cpus();
  return {
    python: info.python,
    flask: info.flask,
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Send SIGTERM, wait for the drain, and return the exit code (SIGKILL after a timeout gives null). */
async function stopService(service: RunningService): Promise<number | null> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    const [code] = await exited;
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** Reduce an autocannon result to the numbers worth recording. */
function summarize(route: string, result: Result): RouteBenchResult {
  return {
    path: route,
    requestsPerSec: Math.round(result.requests.average),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    totalRequests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Format the result as one line per route, for a terminal or CI log. */
export function formatServiceBench(result: ServiceBenchResult): string {
  const header =
    `service on Waitress (${result.threads} threads), ${result.connections} connections, ${result.durationS} s per route, ` +
    `Python ${result.runtime.python}, Flask ${result.runtime.flask}, ${result.runtime.cpus} CPUs`;
  const lines = result.routes.map(
    (r) =>
      `  ${r.path.padEnd(8)} ${String(r.requestsPerSec).padStart(7)} req/s   p50 ${r.latencyP50Ms} ms   p99 ${r.latencyP99Ms} ms` +
      `   (${r.totalRequests} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts)`,
  );
  return [header, ...lines, `  stopped with exit code ${result.stopExitCode}`].join('\n');
}

/** Write the result to bench/results/service-<YYYY-MM-DD>.json and return the path. */
export async function writeServiceBench(
  result: ServiceBenchResult,
  dir = path.join(repoRoot, 'bench', 'results'),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `service-${result.date.slice(0, 10)}.json`);
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: String(defaultServiceBenchOptions.durationS) },
      connections: { type: 'string', default: String(defaultServiceBenchOptions.connections) },
    },
  });
  const durationS = Number(values.duration);
  const connections = Number(values.connections);
  if (!(durationS > 0) || !Number.isInteger(connections) || connections < 1) {
    console.error(
      `--duration must be seconds > 0 and --connections an integer >= 1 (got ${values.duration}, ${values.connections})`,
    );
    process.exitCode = 2;
    return;
  }
  const result = await benchService({ durationS, connections });
  console.log(formatServiceBench(result));
  console.log(`wrote ${path.relative(process.cwd(), await writeServiceBench(result))}`);
  const failures = result.routes.filter((r) => r.non2xx > 0 || r.errors > 0 || r.timeouts > 0);
  if (failures.length > 0 || result.stopExitCode !== 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
