// Where a bake's time went, read from its stage log. Packer's -machine-readable output
// starts every line with a Unix timestamp, so the gap between one Ansible "TASK [...]"
// header and the next is that task's duration (1 s resolution). This needs no Ansible
// callback plugin, so it keeps working whatever the playbook's ansible.cfg enables.

import { busySeconds, childEdges, round } from './child-time.ts';
import type { BakeProfile } from './results.ts';

/** `<unix time>,<target>,ui,<say|message>,<text>` */
const UI_LINE = /^(\d+),[^,]*,ui,(?:say|message|error),(.*)$/;
/** A header that starts a unit of Ansible work. */
const TASK_HEADER = /\b(?:TASK|RUNNING HANDLER) \[(.+?)\] \*+$/;
const PLAY_HEADER = /\bPLAY \[.*\] \*+$/;
const PLAY_RECAP = /\bPLAY RECAP \*+$/;
/** Packer escapes commas in messages. */
const PACKER_COMMA = /%!\(PACKER_COMMA\)/g;

export function profileBake(bakeLog: string, maxTasks = 10): BakeProfile | undefined {
  const lines = bakeLog.split('\n');
  const packerStart = lines.findIndex((line) => line.startsWith('$ packer build'));
  if (packerStart === -1) return undefined;
  const rest = lines.slice(packerStart);
  const packerEnd = rest.findIndex((line) => line.startsWith('# exited '));
  const packerRun = rest.slice(0, packerEnd === -1 ? undefined : packerEnd + 1);

  const timed = packerRun
    .map((line) => UI_LINE.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ at: Number(match[1]), text: (match[2] as string).replace(PACKER_COMMA, ',') }));

  const seconds = new Map<string, number>();
  let current: { task: string; at: number } | undefined;
  let playStart: number | undefined;
  let playEnd: number | undefined;
  for (const { at, text } of timed) {
    const task = TASK_HEADER.exec(text)?.[1];
    const isBoundary = task !== undefined || PLAY_HEADER.test(text) || PLAY_RECAP.test(text);
    if (!isBoundary) continue;
    if (current) seconds.set(current.task, (seconds.get(current.task) ?? 0) + at - current.at);
    current = task !== undefined ? { task, at } : undefined;
    if (PLAY_HEADER.test(text)) playStart ??= at;
    if (PLAY_RECAP.test(text)) playEnd = at;
  }
  const first = timed[0]?.at;
  const last = timed.at(-1)?.at;
  return {
    packerS: round(busySeconds(childEdges(packerRun.join('\n')))),
    ...(playStart !== undefined && playEnd !== undefined ? { ansibleS: playEnd - playStart } : {}),
    ...(first !== undefined && playStart !== undefined ? { beforeAnsibleS: playStart - first } : {}),
    ...(last !== undefined && playEnd !== undefined ? { afterAnsibleS: last - playEnd } : {}),
    slowestTasks: [...seconds]
      .map(([task, taskSeconds]) => ({ task, seconds: taskSeconds }))
      .filter((task) => task.seconds > 0)
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, maxTasks),
  };
}
