// What a person reads on the run page and in the pull request: the decision
// Markdown the CLI renders (render/markdown.ts: one row per product with
// used, requested, capacity, headroom and a utilisation bar; each finding with
// its message, which says how to fix it), plus where it came from.
import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import { decisionMarkdown } from '../../render/markdown.ts';
import type { Decision } from '../../engine/types.ts';

/** Hidden marker that finds our one sticky comment among the PR's comments. */
export const COMMENT_MARKER = '<!-- entitlegate -->';

/** GitHub refuses comment and check-run bodies over 65,536 characters. */
export const BODY_LIMIT = 65_536;

export interface SummaryContext {
  inputs: readonly string[];
  configFile: string;
  notes?: readonly string[];
  runUrl?: string | null;
}

function footer(d: Decision, ctx: SummaryContext): string[] {
  const lines: string[] = [];
  if (!d.products.length) lines.push(`No licensed product is touched by this change.`, '');
  const n = ctx.inputs.length;
  lines.push(
    `<sub>checked ${n} input${n === 1 ? '' : 's'} against \`${ctx.configFile}\` in ${d.mode} mode${ctx.runUrl ? ` · [workflow run](${ctx.runUrl})` : ''}</sub>`,
    '',
  );
  for (const note of ctx.notes ?? []) lines.push(`> [!NOTE]`, `> ${note}`, '');
  return lines;
}

export function truncate(body: string, limit = BODY_LIMIT): string {
  if (body.length <= limit) return body;
  const tail = '\n\n…truncated; the job summary and the report output have everything.\n';
  return body.slice(0, limit - tail.length) + tail;
}

export function summaryMarkdown(d: Decision, ctx: SummaryContext): string {
  return [decisionMarkdown(d), ...footer(d, ctx)].join('\n');
}

export function commentBody(d: Decision, ctx: SummaryContext): string {
  return truncate(`${COMMENT_MARKER}\n${summaryMarkdown(d, { ...ctx, notes: [] })}`);
}

/** Appends to the job summary; without GITHUB_STEP_SUMMARY (local runs) it goes to the log. */
export function writeSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): void {
  // Written directly rather than through core.summary, which caches the file
  // path of the first call for the life of the process.
  const file = env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, markdown.endsWith('\n') ? markdown : markdown + '\n');
  else core.info(markdown);
}
