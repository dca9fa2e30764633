import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batches } from './check-run.ts';
import { GitHubApiError } from './github-api.ts';
import { expandPaths, listInput } from './inputs.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function workspace(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'eg-ws-'));
  made.push(root);
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), 'kind: ConfigMap\n');
  }
  return root;
}

describe('listInput', () => {
  it('splits on newlines and commas and drops blanks and comments', () => {
    expect(listInput('k8s/**/*.yaml, plan.json\n\n  # rendered by helm\nrendered/\n')).toEqual(['k8s/**/*.yaml', 'plan.json', 'rendered/']);
  });
});

describe('expandPaths', () => {
  const ws = workspace([
    'k8s/a.yaml',
    'k8s/b.yaml',
    'k8s/test/c.yaml',
    'entitlegate.yaml',
    'cdktf.out/manifest.json',
    'node_modules/x/y.yaml',
    'k8s/.hidden/d.yaml',
    'k8s/.e.yaml',
    '.git/config.yaml',
  ]);
  const rel = (list: string[]) => list.map((p) => p.slice(ws.length + 1)).sort();

  it('expands globs relative to the workspace, without the config and usage files', () => {
    expect(rel(expandPaths(ws, ['k8s/*.yaml', 'k8s/test/*.yaml'], ['entitlegate.yaml']))).toEqual([
      'k8s/.e.yaml',
      'k8s/a.yaml',
      'k8s/b.yaml',
      'k8s/test/c.yaml',
    ]);
  });

  it('matches hidden files, dot-folders and node_modules as `check` reads a folder (kubectl apply -R applies them); never .git', () => {
    expect(rel(expandPaths(ws, ['**/*.yaml'], [join(ws, 'entitlegate.yaml')]))).toEqual([
      'k8s/.e.yaml',
      'k8s/.hidden/d.yaml',
      'k8s/a.yaml',
      'k8s/b.yaml',
      'k8s/test/c.yaml',
      'node_modules/x/y.yaml',
    ]);
  });

  it('excludes `!` patterns', () => {
    expect(rel(expandPaths(ws, ['k8s/**/*.yaml', '!k8s/test/**', '!**/.hidden/**']))).toEqual(['k8s/.e.yaml', 'k8s/a.yaml', 'k8s/b.yaml']);
  });

  it('takes a folder whole and does not read its files twice', () => {
    expect(rel(expandPaths(ws, ['k8s', 'k8s/a.yaml', 'cdktf.out']))).toEqual(['cdktf.out', 'k8s']);
  });

  it('refuses a pattern or a path that matches nothing', () => {
    expect(() => expandPaths(ws, ['charts/**/*.yaml'])).toThrow('paths: charts/**/*.yaml matches no file in the workspace');
    expect(() => expandPaths(ws, ['plan.json'])).toThrow('paths: plan.json: no such file or folder in the workspace');
  });
});

describe('batches', () => {
  it('cuts annotations into requests of at most 50, and one empty batch when there are none', () => {
    expect(batches(Array.from({ length: 120 }, (_, i) => i)).map((b) => b.length)).toEqual([50, 50, 20]);
    expect(batches([])).toEqual([[]]);
  });
});

describe('GitHubApiError', () => {
  it('tells a missing permission from a rate limit', () => {
    expect(new GitHubApiError('POST', '/x', 403, 'Resource not accessible by integration').isPermission).toBe(true);
    expect(new GitHubApiError('PATCH', '/x', 404, 'Not Found').isPermission).toBe(true);
    expect(new GitHubApiError('POST', '/x', 403, 'You have exceeded a secondary rate limit').isPermission).toBe(false);
    expect(new GitHubApiError('POST', '/x', 502, 'Bad Gateway').isPermission).toBe(false);
  });
});
