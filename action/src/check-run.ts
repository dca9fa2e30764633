// A check run carrying every annotation. The API takes at most 50 annotations
// per request and appends those of each update, so the first batch goes with
// the create and the rest follow as PATCHes; the last one completes the run.
import type { Decision } from '../../engine/types.ts';
import type { Annotation } from './annotations.ts';
import type { GitHubApi } from './github-api.ts';
import { truncate } from './summary.ts';

export const CHECK_NAME = 'entitlegate';
export const ANNOTATION_BATCH = 50;

interface CheckRun {
  id: number;
  html_url?: string;
}

export interface CheckRunTarget {
  owner: string;
  repo: string;
  sha: string;
}

export function conclusionOf(d: Decision): 'success' | 'failure' | 'neutral' {
  if (!d.allowed) return 'failure';
  return d.violations.length ? 'neutral' : 'success';
}

function apiAnnotation(a: Annotation) {
  return {
    path: a.file,
    start_line: a.line,
    end_line: a.line,
    annotation_level: a.level === 'error' ? 'failure' : 'warning',
    title: a.title.slice(0, 255),
    message: a.message.slice(0, 64_000),
  };
}

export function batches<T>(list: readonly T[], size = ANNOTATION_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out.length ? out : [[]];
}

export async function publishCheckRun(
  api: GitHubApi,
  t: CheckRunTarget,
  d: Decision,
  annotations: readonly Annotation[],
  text: { title: string; summary: string },
): Promise<{ id: number; url?: string; requests: number }> {
  const base = `/repos/${t.owner}/${t.repo}/check-runs`;
  const output = (batch: Annotation[]) => ({ title: text.title, summary: truncate(text.summary), annotations: batch.map(apiAnnotation) });
  const done = { status: 'completed', conclusion: conclusionOf(d), completed_at: new Date().toISOString() };
  const all = batches(annotations);
  let run: CheckRun | null = null;
  for (const [i, batch] of all.entries()) {
    const last = i === all.length - 1;
    const state = last ? done : { status: 'in_progress' };
    if (!run) run = await api.request<CheckRun>('POST', base, { name: CHECK_NAME, head_sha: t.sha, ...state, output: output(batch) });
    else await api.request<CheckRun>('PATCH', `${base}/${run.id}`, { ...state, output: output(batch) });
  }
  return { id: run!.id, ...(run!.html_url ? { url: run!.html_url } : {}), requests: all.length };
}
