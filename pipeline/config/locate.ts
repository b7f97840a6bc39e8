// Puts a line and column on each config problem: the schema speaks in field paths
// ("environments.prod.health.timeout_s"); a person editing deploy.yaml wants to know
// where that is. The node for the path is looked up in the parsed document; for a key
// that is missing, the nearest mapping that exists is where it belongs.

import { isNode, type Document, type LineCounter } from 'yaml';
import type { ConfigIssue } from '../errors.ts';

/** "environments.prod.subnets[1]" → ["environments", "prod", "subnets", 1]. */
export function pathSegments(path: string): Array<string | number> {
  const segments: Array<string | number> = [];
  for (const part of path.split('.')) {
    if (!part) continue;
    const [key = '', ...indexes] = part.split('[');
    if (key) segments.push(key);
    for (const index of indexes) segments.push(Number(index.replace(']', '')));
  }
  return segments;
}

function startOf(document: Document, segments: Array<string | number>): number | undefined {
  // The deepest node on the path that exists: the value itself, or its nearest parent.
  for (let depth = segments.length; depth > 0; depth -= 1) {
    const node: unknown = document.getIn(segments.slice(0, depth), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return isNode(document.contents) && document.contents.range ? document.contents.range[0] : undefined;
}

export function locateIssues(issues: ConfigIssue[], document: Document, lines: LineCounter): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.line !== undefined) return issue;
    const offset = startOf(document, pathSegments(issue.path));
    if (offset === undefined) return issue;
    const { line, col } = lines.linePos(offset);
    return { ...issue, line, column: col };
  });
}
