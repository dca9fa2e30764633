// One sticky pull-request comment: found by its hidden marker, updated in
// place, created only when there is none. Every page of comments is read, so a
// long conversation never makes us post a second one.
import type { GitHubApi } from './github-api.ts';
import { COMMENT_MARKER } from './summary.ts';

interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

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
  const base = `/repos/${t.owner}/${t.repo}`;
  const comments = await api.paginate<IssueComment>(`${base}/issues/${t.issue}/comments`);
  const ours = comments.find((c) => c.body?.includes(COMMENT_MARKER));
  if (ours) {
    const c = await api.request<IssueComment>('PATCH', `${base}/issues/comments/${ours.id}`, { body });
    return { action: 'updated', id: c.id ?? ours.id, ...(c.html_url ? { url: c.html_url } : {}) };
  }
  if (!opts.createIfMissing) return { action: 'skipped', reason: 'nothing to report and no earlier comment to update' };
  const c = await api.request<IssueComment>('POST', `${base}/issues/${t.issue}/comments`, { body });
  return { action: 'created', id: c.id, ...(c.html_url ? { url: c.html_url } : {}) };
}
