// One sticky pull-request comment: found by its hidden marker, updated in
// place, created only when there is none. Every page of comments is read
// (Octokit's paginate follows `Link: rel="next"`), so a long conversation
// never makes us post a second one.
import { call, type GitHubApi } from './github-api.ts';
import { COMMENT_MARKER } from './summary.ts';

export interface CommentTarget {
  owner: string;
  repo: string;
  issue: number;
}

export type CommentResult = { action: 'created' | 'updated'; id: number; url?: string } | { action: 'skipped'; reason: string };

export async function upsertComment(
  api: GitHubApi,
  t: CommentTarget,
  body: string,
  opts: { createIfMissing: boolean },
): Promise<CommentResult> {
  const repo = { owner: t.owner, repo: t.repo };
  const path = `/repos/${t.owner}/${t.repo}/issues`;
  const comments = await call('GET', `${path}/${t.issue}/comments`, () =>
    api.paginate(api.rest.issues.listComments, { ...repo, issue_number: t.issue, per_page: 100 }),
  );
  const ours = comments.find((c) => c.body?.includes(COMMENT_MARKER));
  if (ours) {
    const { data: c } = await call('PATCH', `${path}/comments/${ours.id}`, () =>
      api.rest.issues.updateComment({ ...repo, comment_id: ours.id, body }),
    );
    return { action: 'updated', id: c.id ?? ours.id, ...(c.html_url ? { url: c.html_url } : {}) };
  }
  if (!opts.createIfMissing) return { action: 'skipped', reason: 'nothing to report and no earlier comment to update' };
  const { data: c } = await call('POST', `${path}/${t.issue}/comments`, () =>
    api.rest.issues.createComment({ ...repo, issue_number: t.issue, body }),
  );
  return { action: 'created', id: c.id, ...(c.html_url ? { url: c.html_url } : {}) };
}
