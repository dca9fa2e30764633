// The parts that need the GitHub API: the sticky comment and the check run.
// They only report; the gate is the step's outcome. Without write access (a
// fork's read-only token, missing `permissions:`) or with the API down, each
// is skipped with the reason logged, and the run goes on.
import * as core from '@actions/core';
import { headline } from '../../render/common.ts';
import type { Decision } from '../../engine/types.ts';
import type { Annotation } from './annotations.ts';
import { publishCheckRun } from './check-run.ts';
import { upsertComment } from './comment.ts';
import { fromFork, type RunContext } from './context.ts';
import { GitHubApiError, gitHubApi } from './github-api.ts';
import type { ActionInputs } from './inputs.ts';
import { commentBody, summaryMarkdown, type SummaryContext } from './summary.ts';

export interface Published {
  /** One line per skipped part, for the job summary. */
  notes: string[];
}

function skipReason(what: string, permission: string, err: unknown, ctx: RunContext): { text: string; expected: boolean } {
  if (err instanceof GitHubApiError && err.isPermission) {
    const fork = fromFork(ctx.pullRequest);
    const why = fork
      ? `this pull request comes from the fork ${ctx.pullRequest!.headRepo}, and GitHub gives workflows on such pull requests a read-only token`
      : `the token has no \`${permission}\` permission; add \`permissions: ${permission}\` to the job`;
    return {
      text: `skipped the ${what}: ${why} (${err.message}). The gate, the job summary and the annotations still apply.`,
      expected: fork,
    };
  }
  return {
    text: `skipped the ${what}: ${(err as Error).message}. The gate, the job summary and the annotations still apply.`,
    expected: false,
  };
}

function report(note: { text: string; expected: boolean }, notes: string[]): void {
  // A fork's read-only token is expected, so a notice; anything else is a setup problem.
  if (note.expected) core.notice(`entitlegate ${note.text}`);
  else core.warning(`entitlegate ${note.text}`);
  notes.push(`entitlegate ${note.text}`);
}

export async function publish(
  d: Decision,
  annotations: readonly Annotation[],
  inputs: ActionInputs,
  ctx: RunContext,
  summary: SummaryContext,
): Promise<Published> {
  const notes: string[] = [];
  const wantComment = inputs.comment && !!ctx.pullRequest;
  if (inputs.comment && !ctx.pullRequest)
    core.info(`entitlegate: no PR comment: this is a ${ctx.eventName || 'non-pull-request'} event, not a pull request`);
  if (!wantComment && !inputs.checkRun) return { notes };
  if (!inputs.token || !ctx.owner || !ctx.repo) {
    report({ text: 'skipped the PR comment and the check run: no github-token or GITHUB_REPOSITORY', expected: false }, notes);
    return { notes };
  }
  const api = gitHubApi({ apiUrl: ctx.apiUrl, token: inputs.token });

  if (wantComment) {
    const pr = ctx.pullRequest!;
    try {
      const touched = d.products.length > 0 || d.violations.length > 0 || d.warnings.length > 0;
      const r = await upsertComment(api, { owner: ctx.owner, repo: ctx.repo, issue: pr.number }, commentBody(d, summary), {
        createIfMissing: touched,
      });
      if (r.action === 'skipped') core.info(`entitlegate: no PR comment: ${r.reason}`);
      else core.info(`entitlegate: ${r.action} the PR comment${r.url ? ` ${r.url}` : ` ${r.id}`}`);
    } catch (err) {
      report(skipReason('PR comment', 'pull-requests: write', err, ctx), notes);
    }
  }

  if (inputs.checkRun) {
    if (!ctx.sha) {
      report({ text: 'skipped the check run: no commit (GITHUB_SHA) to attach it to', expected: false }, notes);
    } else {
      try {
        const r = await publishCheckRun(api, { owner: ctx.owner, repo: ctx.repo, sha: ctx.sha, stepId: ctx.stepId }, d, annotations, {
          title: headline(d),
          summary: summaryMarkdown(d, { ...summary, notes: [] }),
        });
        core.info(
          `entitlegate: check run ${r.url ?? r.id} with ${annotations.length} annotation${annotations.length === 1 ? '' : 's'} in ${r.requests} request${r.requests === 1 ? '' : 's'}` +
            (r.cancelled ? `; completed ${r.cancelled} left in progress by an earlier attempt as cancelled` : ''),
        );
      } catch (err) {
        report(skipReason('check run', 'checks: write', err, ctx), notes);
      }
    }
  }
  return { notes };
}
