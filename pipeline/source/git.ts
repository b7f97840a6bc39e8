// A git source, fetched on the machine running the bake into a cache under
// .deploy/sources/, its ref resolved to a commit. The commit (not the ref) is what the
// fingerprint and the image's build info record: a moved branch means a new bake, an
// unchanged commit means none.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StageIO } from '../context.ts';
import { ConfigError, ToolError } from '../errors.ts';
import { makeStateDir, removeState } from '../state/files.ts';

export interface FetchedGitSource {
  /** A checkout of the commit, without .git (the ignore list leaves it out anyway). */
  directory: string;
  commit: string;
}

/** Where the cache of one URL lives: .deploy/sources/<sha256 of the URL, 16 hex>. */
export function gitCacheDir(deployDir: string, url: string): string {
  return join(deployDir, 'sources', createHash('sha256').update(url).digest('hex').slice(0, 16));
}

/** The URL for messages: user and password never shown. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^/@]*@/, '$1');
}

const GIT_ENV = {
  // Never prompt for credentials: a bake runs unattended.
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: 'true',
};

export async function fetchGitSource(
  io: StageIO,
  deployDir: string,
  source: { url: string; ref: string; key: string },
  configFile: string,
): Promise<FetchedGitSource> {
  const cache = gitCacheDir(deployDir, source.url);
  const repository = join(cache, 'repo.git');
  const checkout = join(cache, 'checkout');
  await makeStateDir(cache, 'git source cache');
  const git = (args: string[], cwd = cache) =>
    io.run({ tool: 'git', args, cwd, env: GIT_ENV, quiet: true, timeoutMs: 10 * 60_000 });

  if (!existsSync(repository)) await git(['init', '--quiet', '--bare', repository]);
  io.progress(`fetching ${displayUrl(source.url)} ${source.ref}`);
  try {
    // Branches and tags both; a moved branch or tag is fetched again (--force).
    await git(
      [
        '--git-dir',
        repository,
        'fetch',
        '--quiet',
        '--force',
        '--prune',
        '--tags',
        source.url,
        '+HEAD:refs/remotes/origin/HEAD',
        '+refs/heads/*:refs/remotes/origin/*',
      ],
      cache,
    );
  } catch (error) {
    if (error instanceof ToolError) {
      throw new ConfigError(configFile, [
        {
          path: `${source.key}.git`,
          message: `${JSON.stringify(displayUrl(source.url))} could not be fetched: ${error.failure.errorLines.slice(-3).join(' ') || 'git fetch failed'}`,
        },
      ]);
    }
    throw error;
  }
  const commit = await resolveRef(git, repository, source.ref);
  if (!commit) {
    throw new ConfigError(configFile, [
      {
        path: `${source.key}.ref`,
        message: `${JSON.stringify(source.ref)} does not resolve to a commit in ${displayUrl(source.url)}: give a branch, tag or commit that exists there`,
      },
    ]);
  }
  await removeState(checkout, 'git source checkout');
  await makeStateDir(checkout, 'git source checkout');
  await git(['--git-dir', repository, '--work-tree', checkout, 'checkout', '--quiet', '--force', commit, '--', '.']);
  return { directory: checkout, commit };
}

type Git = (args: string[], cwd?: string) => Promise<{ stdout: string }>;

/** The commit a ref names: a remote branch, a tag, or a commit id; undefined when none. */
async function resolveRef(git: Git, repository: string, ref: string): Promise<string | undefined> {
  const candidates = ref === 'HEAD' ? ['refs/remotes/origin/HEAD'] : [];
  candidates.push(`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref);
  for (const candidate of candidates) {
    try {
      const { stdout } = await git([
        '--git-dir',
        repository,
        'rev-parse',
        '--verify',
        '--quiet',
        `${candidate}^{commit}`,
      ]);
      const commit = stdout.trim();
      if (/^[0-9a-f]{40}$/.test(commit)) return commit;
    } catch {
      // not this kind of ref: try the next
    }
  }
  return undefined;
}
