// A check run carrying every annotation. The API takes at most 50 annotations
// per request and appends those of each update, so the first batch goes with
// the create and the rest follow as updates; the last one completes the run.
// Before that, the check runs this same step left in progress on the commit
// (an earlier attempt of the job, cancelled mid-way) are read, every page, and
// completed as cancelled: a check that never ends would hold a PR's checks.
import * as core from '@actions/core';
import type { Decision } from '../../engine/types.ts';
import type { Annotation } from './annotations.ts';
import { call, type GitHubApi } from './github-api.ts';
import { truncate } from './summary.ts';

export const CHECK_NAME = 'entitlegate';
export const ANNOTATION_BATCH = 50;

export interface CheckRunTarget {
  owner: string;
  repo: string;
  sha: string;
  /** Names this step across attempts of its job (external_id). */
  stepId?: string | null;
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
    annotation_level: a.level === 'error' ? ('failure' as const) : ('warning' as const),
    title: a.title.slice(0, 255),
    message: a.message.slice(0, 64_000),
  };
}

export function batches<T>(list: readonly T[], size = ANNOTATION_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out.length ? out : [[]];
}

/** Completes as cancelled the runs an earlier attempt of this step left in progress; returns how many. */
async function cancelLeftovers(api: GitHubApi, t: CheckRunTarget, base: string): Promise<number> {
  if (!t.stepId) return 0;
  const repo = { owner: t.owner, repo: t.repo };
  try {
    const runs = await call('GET', `/repos/${t.owner}/${t.repo}/commits/${t.sha}/check-runs`, () =>
      api.paginate(api.rest.checks.listForRef, { ...repo, ref: t.sha, check_name: CHECK_NAME, filter: 'all', per_page: 100 }),
    );
    const leftovers = runs.filter((r) => r.external_id === t.stepId && r.status !== 'completed');
    for (const r of leftovers)
      await call('PATCH', `${base}/${r.id}`, () =>
        api.rest.checks.update({
          ...repo,
          check_run_id: r.id,
          status: 'completed',
          conclusion: 'cancelled',
          output: { title: 'Superseded', summary: 'A later attempt of this job published its own check run.' },
        }),
      );
    return leftovers.length;
  } catch (err) {
    // Only housekeeping: the new check run matters more.
    core.debug(`entitlegate: could not look for earlier check runs: ${(err as Error).message}`);
    return 0;
  }
}

export async function publishCheckRun(
  api: GitHubApi,
  t: CheckRunTarget,
  d: Decision,
  annotations: readonly Annotation[],
  text: { title: string; summary: string },
): Promise<{ id: number; url?: string; requests: number; cancelled: number }> {
  const repo = { owner: t.owner, repo: t.repo };
  const base = `/repos/${t.owner}/${t.repo}/check-runs`;
  const cancelled = await cancelLeftovers(api, t, base);
  const output = (batch: Annotation[]) => ({ title: text.title, summary: truncate(text.summary), annotations: batch.map(apiAnnotation) });
  const done = { status: 'completed' as const, conclusion: conclusionOf(d), completed_at: new Date().toISOString() };
  const all = batches(annotations);
  let run: { id: number; html_url?: string | null } | null = null;
  for (const [i, batch] of all.entries()) {
    const state = i === all.length - 1 ? done : { status: 'in_progress' as const };
    if (!run) {
      const created = await call('POST', base, () =>
        api.rest.checks.create({
          ...repo,
          name: CHECK_NAME,
          head_sha: t.sha,
          ...(t.stepId ? { external_id: t.stepId } : {}),
          ...state,
          output: output(batch),
        }),
      );
      run = created.data;
    } else {
      const id = run.id;
      await call('PATCH', `${base}/${id}`, () => api.rest.checks.update({ ...repo, check_run_id: id, ...state, output: output(batch) }));
    }
  }
  return { id: run!.id, ...(run!.html_url ? { url: run!.html_url } : {}), requests: all.length, cancelled };
}
