// The action end to end, run as the runner runs it: from source in this
// process and as the bundled action/dist/index.js in a child `node` process,
// against a local GitHub API, with the example config, usage and manifests
// and the real compiled policy.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { run } from './run.ts';
import { COMMENT_MARKER } from './summary.ts';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from './testing/fake-github.ts';
import {
  BUNDLE,
  MERGE_SHA,
  PR_EVENT,
  PR_HEAD_SHA,
  REPO_ROOT,
  runBundled,
  runInProcess,
  type StepOptions,
  type StepResult,
} from './testing/runner.ts';

const TOKEN = 'ghs_fakeInstallationToken0123456789';
const EXAMPLES = { config: 'examples/entitlegate.yaml', usage: 'examples/usage.yaml' };

let fleet: string; // a workspace whose change yields more than 50 annotations
let broken: string; // a workspace with a config that has a wrong value on line 43
let gitops: string; // config and usage inside the manifests folder; manifests in a dot-folder, one object written twice
const FLEET_SIZE = 60;

beforeAll(() => {
  fleet = mkdtempSync(join(tmpdir(), 'eg-fleet-'));
  mkdirSync(join(fleet, 'k8s'));
  copyFileSync(join(REPO_ROOT, EXAMPLES.config), join(fleet, 'entitlegate.yaml'));
  copyFileSync(join(REPO_ROOT, EXAMPLES.usage), join(fleet, 'usage.yaml'));
  const docs = ['apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shards\n  labels:\n    entitlegate.io/environment: prod\n'];
  for (let i = 0; i < FLEET_SIZE; i++) {
    docs.push(
      `apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: shard-${i}\n  namespace: shards\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: db\n          image: container-registry.oracle.com/database/enterprise:21.3.0.0\n          resources:\n            limits: { cpu: "2" }\n`,
    );
  }
  writeFileSync(join(fleet, 'k8s', 'shards.yaml'), docs.join('---\n'));

  broken = mkdtempSync(join(tmpdir(), 'eg-broken-'));
  mkdirSync(join(broken, 'k8s'));
  const config = readFileSync(join(REPO_ROOT, EXAMPLES.config), 'utf8').replace('quantity: 64', 'quantity: lots');
  writeFileSync(join(broken, 'entitlegate.yaml'), config);
  copyFileSync(join(REPO_ROOT, 'examples/manifests/orders-db.yaml'), join(broken, 'k8s', 'orders-db.yaml'));

  gitops = mkdtempSync(join(tmpdir(), 'eg-gitops-'));
  mkdirSync(join(gitops, 'deploy', '.prod'), { recursive: true });
  copyFileSync(join(REPO_ROOT, EXAMPLES.config), join(gitops, 'deploy', 'entitlegate.yaml'));
  copyFileSync(join(REPO_ROOT, EXAMPLES.usage), join(gitops, 'deploy', 'usage.yaml'));
  const manifests = readFileSync(join(REPO_ROOT, 'examples/manifests/orders-db.yaml'), 'utf8');
  const statefulSet = manifests.split('---\n')[1]!;
  // The StatefulSet (line 9) written again at the end: one object, the last one.
  writeFileSync(join(gitops, 'deploy', '.prod', 'orders.yaml'), `${manifests}---\n${statefulSet}`);
});

afterAll(() => {
  for (const d of [fleet, broken, gitops]) rmSync(d, { recursive: true, force: true });
});

let api: FakeGitHub | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function server(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  api = await startFakeGitHub(opts);
  return api;
}

const forkEvent = () => {
  const e = JSON.parse(readFileSync(PR_EVENT, 'utf8'));
  e.pull_request.head.repo = { ...e.pull_request.head.repo, full_name: 'mreyes/payments-infra', fork: true, owner: e.sender };
  e.pull_request.head.label = 'mreyes:scale-orders-db';
  return e;
};

const writes = (gh: FakeGitHub) => gh.calls.filter((c) => c.method !== 'GET');
const report = (r: StepResult) => JSON.parse(readFileSync(r.outputs.report!, 'utf8'));

const runners: [string, (o: StepOptions) => Promise<StepResult>][] = [
  ['from source, in process', (o) => runInProcess(o, run)],
  ['bundled action/dist/index.js, as a node process', runBundled],
];

describe.each(runners)('the action %s', (_name, step) => {
  it('allows a change that fits: outputs, report, job summary, one comment, a successful check run', async () => {
    const gh = await server();
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/claims/fits.json' } });

    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({ allowed: 'true', violations: '0' });
    expect(r.outputs.report!.startsWith(r.tempDir)).toBe(true);
    expect(report(r)).toMatchObject({
      allowed: true,
      mode: 'enforce',
      products: [{ product: 'oracle-db-ee', used: 6, requested: 4, capacity: 16 }],
    });

    expect(r.summary).toContain('## ✅ entitlegate: ALLOWED');
    expect(r.summary).toContain('| oracle-db-ee | vcpu | 6 | 4 | 16 | 6 | ██████░░░░ 63% |');

    expect(writes(gh).map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /repos/acme/payments-infra/issues/42/comments',
      'POST /repos/acme/payments-infra/check-runs',
    ]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(gh.comments[0]!.body).toContain('[workflow run](https://github.example/acme/payments-infra/actions/runs/12345678901)');
    expect(gh.checkRuns).toMatchObject([
      { name: 'entitlegate', head_sha: PR_HEAD_SHA, status: 'completed', conclusion: 'success', annotations: [] },
    ]);
    // Octokit's scheme for a non-JWT token; GitHub takes `token` and `Bearer` alike.
    expect(gh.calls.every((c) => c.authorization === `token ${TOKEN}`)).toBe(true);
    // Only in the command that tells the runner to mask it.
    expect(
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain(TOKEN);
  });

  it('denies a change over its entitlement: the step fails, annotations on the manifest line, a failed check run', async () => {
    const gh = await server();
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/manifests', cluster: 'prod-eu-1' } });

    expect(r.exitCode).toBe(1);
    expect(r.outputs).toMatchObject({ allowed: 'false', violations: '1' });
    expect(report(r).violations[0].code).toBe('OVER_ENTITLEMENT');
    // the `sarif` output, for github/codeql-action/upload-sarif: paths relative to the workspace
    expect(r.outputs.sarif!.startsWith(r.tempDir)).toBe(true);
    const sarif = JSON.parse(readFileSync(r.outputs.sarif!, 'utf8'));
    expect(
      sarif.runs[0].results.map((x: { locations: { physicalLocation: object }[] }) => x.locations[0]!.physicalLocation),
    ).toContainEqual({
      artifactLocation: { uri: 'examples/manifests/orders-db.yaml' },
      region: { startLine: 9 },
    });
    expect(r.stdout).toMatch(
      /^::error title=OVER_ENTITLEMENT oracle-db-ee \(ORA-EE-2026\),file=examples\/manifests\/orders-db\.yaml,line=9::oracle-db-ee: 90 vcpu projected exceeds/m,
    );
    expect(r.stdout).toMatch(/^::error::entitlegate: BLOCKED — 1 violation, 1 warning/m);

    expect(r.summary).toContain('## ❌ entitlegate: BLOCKED');
    expect(r.summary).toContain('| oracle-db-ee | vcpu | 66 | 24 | 88 | -2 | ██████████ ⚠ 102% |');
    expect(r.summary).toContain('| rhel | instances | 140 | 4 | 200 | 56 | ███████░░░ 72% |');
    expect(r.summary).toContain('reduce the request by 2 vcpu');
    expect(r.summary).toContain('`StatefulSet/orders/orders-db` (examples/manifests/orders-db.yaml:9)');

    const [check] = gh.checkRuns;
    expect(check).toMatchObject({ status: 'completed', conclusion: 'failure', output: { title: 'BLOCKED — 1 violation, 1 warning' } });
    expect(check!.annotations).toContainEqual(
      expect.objectContaining({
        path: 'examples/manifests/orders-db.yaml',
        start_line: 9,
        end_line: 9,
        annotation_level: 'failure',
        title: 'OVER_ENTITLEMENT oracle-db-ee (ORA-EE-2026)',
      }),
    );
    expect(gh.comments[0]!.body).toContain('❌ entitlegate: BLOCKED');
  });

  it('in warn mode reports the violation and passes', async () => {
    const gh = await server();
    const r = await step({
      apiUrl: gh.url,
      inputs: { ...EXAMPLES, paths: 'examples/manifests/*.yaml', cluster: 'prod-eu-1', mode: 'warn' },
    });

    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatchObject({ allowed: 'true', violations: '1' });
    expect(r.stdout).toMatch(
      /^::warning title=OVER_ENTITLEMENT oracle-db-ee \(ORA-EE-2026\),file=examples\/manifests\/orders-db\.yaml,line=9::/m,
    );
    expect(r.stdout).not.toMatch(/^::error/m);
    expect(r.summary).toContain('## ⚠️ entitlegate: ALLOWED (warn mode: violations reported, not enforced)');
    expect(gh.checkRuns[0]).toMatchObject({ conclusion: 'neutral' });
    expect(gh.checkRuns[0]!.annotations.every((a) => a.annotation_level === 'warning')).toBe(true);
  });

  it('updates its sticky comment in place, found on a later page, and never posts a second', async () => {
    const human = (id: number, body: string) => ({ id, body, user: { login: 'mreyes', type: 'User' } });
    const gh = await server({
      maxPerPage: 2,
      comments: [
        human(101, 'LGTM once the licence check passes'),
        human(102, 'Which contract covers prod?'),
        human(103, 'PO-1234, see the entitlegate config'),
        { id: 104, body: `${COMMENT_MARKER}\n## ✅ entitlegate: ALLOWED — old run`, user: { login: 'github-actions[bot]', type: 'Bot' } },
        human(105, 'rebased'),
      ],
    });
    const r = await step({
      apiUrl: gh.url,
      inputs: { ...EXAMPLES, paths: 'examples/manifests', cluster: 'prod-eu-1', 'check-run': 'false' },
    });

    expect(r.exitCode).toBe(1);
    expect(gh.calls.filter((c) => c.method === 'GET').map((c) => c.query.get('page') ?? '1')).toEqual(['1', '2', '3']);
    expect(writes(gh).map((c) => `${c.method} ${c.path}`)).toEqual(['PATCH /repos/acme/payments-infra/issues/comments/104']);
    expect(gh.comments).toHaveLength(5);
    expect(gh.comments.filter((c) => c.body.includes(COMMENT_MARKER))).toHaveLength(1);
    expect(gh.comments.find((c) => c.id === 104)!.body).toContain('❌ entitlegate: BLOCKED — 1 violation, 1 warning');
  });

  it('sends more than 50 annotations to the check run in batches of 50', async () => {
    const gh = await server();
    const r = await step({
      apiUrl: gh.url,
      workspace: fleet,
      inputs: { config: 'entitlegate.yaml', usage: 'usage.yaml', paths: 'k8s/**/*.yaml', comment: 'false' },
    });

    expect(r.exitCode).toBe(1);
    const sent = writes(gh);
    const sizes = sent.map((c) => c.body.output.annotations.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(50);
    expect(sizes.slice(0, -1).every((n) => n === 50)).toBe(true);
    expect(sizes.at(-1)).toBeLessThanOrEqual(50);
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/repos/acme/payments-infra/check-runs', body: { status: 'in_progress' } });
    expect(
      sent.slice(1).every((c) => c.method === 'PATCH' && c.path === `/repos/acme/payments-infra/check-runs/${gh.checkRuns[0]!.id}`),
    ).toBe(true);
    expect(sent.at(-1)!.body).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const run = gh.checkRuns[0]!;
    expect(run.annotations).toHaveLength(total);
    // One failure on the line of each StatefulSet the violation names.
    const over = report(r).violations.find((v: { code: string }) => v.code === 'OVER_ENTITLEMENT');
    const failures = run.annotations.filter((a) => a.annotation_level === 'failure');
    expect(failures).toHaveLength(over.resources.length);
    expect(new Set(failures.map((a) => a.start_line)).size).toBe(over.resources.length);
    expect(run.annotations.every((a) => a.path === 'k8s/shards.yaml')).toBe(true);
  });

  it('without write permission on a fork PR (403) still gates, annotates and writes the summary, and says why it skipped', async () => {
    const gh = await server({ denyWrites: 403 });
    const r = await step({
      apiUrl: gh.url,
      event: forkEvent(),
      inputs: { ...EXAMPLES, paths: 'examples/manifests', cluster: 'prod-eu-1' },
    });

    expect(r.exitCode).toBe(1);
    expect(r.outputs).toMatchObject({ allowed: 'false', violations: '1' });
    expect(r.stdout).toMatch(/^::error title=OVER_ENTITLEMENT .*file=examples\/manifests\/orders-db\.yaml,line=9::/m);
    expect(r.stdout).toMatch(
      /^::notice::entitlegate skipped the PR comment: this pull request comes from the fork mreyes\/payments-infra.*HTTP 403: Resource not accessible by integration/m,
    );
    expect(r.stdout).toMatch(/^::notice::entitlegate skipped the check run: this pull request comes from the fork/m);
    expect(r.summary).toContain('## ❌ entitlegate: BLOCKED');
    expect(r.summary).toContain('skipped the PR comment');
    expect(r.summary).toContain('skipped the check run');
    expect(gh.comments).toHaveLength(0);
    expect(gh.checkRuns).toHaveLength(0);
  });

  it('with a token that lacks the permissions (403, same repository) passes on an allowed change and names the missing permission', async () => {
    const gh = await server({ denyWrites: 403 });
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/claims/fits.json' } });

    expect(r.exitCode).toBe(0);
    expect(r.outputs.allowed).toBe('true');
    expect(r.stdout).toMatch(/^::warning::entitlegate skipped the PR comment: the token has no `pull-requests: write` permission/m);
    expect(r.stdout).toMatch(/^::warning::entitlegate skipped the check run: the token has no `checks: write` permission/m);
    expect(r.summary).toContain('## ✅ entitlegate: ALLOWED');
  });

  it("waits out GitHub's secondary rate limit (403 with retry-after) and retries, posting once", async () => {
    const gh = await server({ secondaryRateLimit: { times: 1, retryAfter: 1 } });
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/claims/fits.json' } });

    expect(r.exitCode).toBe(0);
    expect(writes(gh).map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /repos/acme/payments-infra/issues/42/comments', // answered 403, secondary rate limit
      'POST /repos/acme/payments-infra/issues/42/comments',
      'POST /repos/acme/payments-infra/check-runs',
    ]);
    expect(gh.comments).toHaveLength(1);
    expect(gh.checkRuns).toHaveLength(1);
    expect(r.stdout).toMatch(
      /GitHub secondary rate limit on POST \/repos\/\{owner\}\/\{repo\}\/issues\/\{issue_number\}\/comments; retrying in 1 s/,
    );
    expect(r.stdout).not.toMatch(/skipped the PR comment/);
  });

  it('reads every page of check runs on the commit and completes the one an earlier attempt left in progress', async () => {
    const run = (id: number, status: string, external_id?: string) => ({
      id,
      name: 'entitlegate',
      head_sha: PR_HEAD_SHA,
      status,
      ...(status === 'completed' ? { conclusion: 'success' } : {}),
      ...(external_id ? { external_id } : {}),
      output: { title: 'old', summary: 'old' },
      annotations: [],
    });
    const gh = await server({
      maxPerPage: 2,
      checkRuns: [
        run(501, 'completed', '12345678900/gate/entitlegate'),
        run(502, 'in_progress', '12345678900/other/entitlegate'), // another job's: left alone
        run(503, 'completed'),
        run(504, 'completed'),
        run(505, 'in_progress', '12345678901/gate/entitlegate'), // this step, an earlier attempt
      ],
    });
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/claims/fits.json', comment: 'false' } });

    expect(r.exitCode).toBe(0);
    const listed = gh.calls.filter((c) => c.method === 'GET' && c.path.endsWith('/check-runs'));
    expect(listed.map((c) => c.query.get('page') ?? '1')).toEqual(['1', '2', '3']);
    expect(listed[0]!.path).toBe(`/repos/acme/payments-infra/commits/${PR_HEAD_SHA}/check-runs`);
    expect(writes(gh).map((c) => `${c.method} ${c.path}`)).toEqual([
      'PATCH /repos/acme/payments-infra/check-runs/505',
      'POST /repos/acme/payments-infra/check-runs',
    ]);
    expect(gh.checkRuns.find((x) => x.id === 505)).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(gh.checkRuns.find((x) => x.id === 502)!.status).toBe('in_progress');
    expect(gh.checkRuns.at(-1)).toMatchObject({ external_id: '12345678901/gate/entitlegate', status: 'completed', conclusion: 'success' });
  });

  it('fails the step on a bad config with each problem as file:line:col, and evaluates nothing', async () => {
    const gh = await server();
    const r = await step({ apiUrl: gh.url, workspace: broken, inputs: { config: 'entitlegate.yaml', paths: 'k8s' } });

    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /^::error::entitlegate: entitlegate\.yaml: the config has 1 problem%0A {2}entitlegate\.yaml:43:15 entitlements\[0\]\.quantity: /m,
    );
    expect(r.stdout).toMatch(/^::error title=EG_ERR_CONFIG_INVALID,file=entitlegate\.yaml,line=43,col=15::entitlements\[0\]\.quantity/m);
    expect(r.stdout).not.toContain(broken);
    expect(r.summary).toContain('entitlegate.yaml:43:15');
    expect(r.outputs).toEqual({});
    expect(gh.calls).toHaveLength(0);
  });

  it('on a push (no pull request) skips the comment and puts the check run on GITHUB_SHA', async () => {
    const gh = await server();
    const r = await step({
      apiUrl: gh.url,
      eventName: 'push',
      event: { ref: 'refs/heads/main', after: MERGE_SHA, repository: { full_name: 'acme/payments-infra' } },
      inputs: { ...EXAMPLES, paths: 'examples/claims/fits.json' },
    });

    expect(r.exitCode).toBe(0);
    expect(writes(gh).map((c) => `${c.method} ${c.path}`)).toEqual(['POST /repos/acme/payments-infra/check-runs']);
    expect(gh.checkRuns[0]!.head_sha).toBe(MERGE_SHA);
  });

  it.each([
    ['the folder', 'deploy'],
    ['a glob', 'deploy/**/*.yaml'],
  ])(
    'reads %s as `check` does: a dot-folder is read, the config and usage beside the manifests are not, a repeated object is a warning annotation',
    async (_what, paths) => {
      const gh = await server();
      const r = await step({
        apiUrl: gh.url,
        workspace: gitops,
        inputs: { config: 'deploy/entitlegate.yaml', usage: 'deploy/usage.yaml', paths, cluster: 'prod-eu-1' },
      });

      expect(r.outputs, r.stdout).toMatchObject({ allowed: 'false', violations: '1' });
      const claims = report(r).claims as { product: string; quantity: number; resource: { file: string; line: number } }[];
      expect(claims.find((c) => c.product === 'oracle-db-ee')).toMatchObject({
        quantity: 24,
        resource: { file: 'deploy/.prod/orders.yaml' },
      });
      expect(r.stdout).toMatch(
        /^::warning title=entitlegate input warning,file=deploy\/\.prod\/orders\.yaml,line=9::StatefulSet\/orders\/orders-db is written again at line 52; only the last one is read/m,
      );
    },
  );

  it('fails when a pattern in paths matches nothing, so a typo cannot pass the gate', async () => {
    const gh = await server();
    const r = await step({ apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/manifests/*.yaml\ndeploy/**/*.yml' } });

    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^::error::entitlegate: paths: deploy\/\*\*\/\*\.yml matches no file in the workspace/m);
    expect(r.outputs).toEqual({});
  });
});

it('the bundle is self-contained: copied away from the repository, it still finds its policy and runs as ESM', async () => {
  const away = mkdtempSync(join(tmpdir(), 'eg-dist-'));
  onTestFinished(() => rmSync(away, { recursive: true, force: true }));
  cpSync(join(REPO_ROOT, 'action', 'dist'), away, { recursive: true });
  const gh = await server();
  const r = await runBundled(
    { apiUrl: gh.url, inputs: { ...EXAMPLES, paths: 'examples/manifests', cluster: 'prod-eu-1' } },
    join(away, 'index.js'),
  );
  expect(BUNDLE).not.toBe(join(away, 'index.js'));
  expect(r.exitCode).toBe(1);
  expect(r.outputs).toMatchObject({ allowed: 'false', violations: '1' });
  expect(report(r).provenance.policy).toMatch(/^sha256:[0-9a-f]{64}$/);
});

it('the committed bundle ships the compiled policy it was built with', () => {
  expect(existsSync(join(REPO_ROOT, 'action/dist/entitlegate.wasm'))).toBe(true);
  expect(
    readFileSync(join(REPO_ROOT, 'action/dist/entitlegate.wasm')).equals(readFileSync(join(REPO_ROOT, 'policies/dist/entitlegate.wasm'))),
  ).toBe(true);
});
