// GitHub Actions OIDC against a local issuer: its own keys and a JWKS
// endpoint on loopback, tokens signed as GitHub signs them. A good token gets
// the roles its claims map to; a wrong issuer, audience, an expired or
// not-yet-valid token, a bad signature and claims no rule maps are refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, type TestLedger, startTestLedger } from './testing/harness.ts';

const now = new Date('2026-06-01T10:00:00Z');
const AUDIENCE = 'https://ledger.example.com';
let issuer: string;
let jwks: Server;
let key: CryptoKey;
let otherKey: CryptoKey;
let dir: string;
let l: TestLedger;
let jwksFetches = 0;

const t = (s: number) => Math.floor(now.getTime() / 1000) + s;

function claims(over: JWTPayload = {}): JWTPayload {
  return {
    iss: issuer,
    aud: AUDIENCE,
    sub: 'repo:acme/app:environment:prod',
    repository: 'acme/app',
    repository_owner: 'acme',
    ref: 'refs/heads/main',
    environment: 'prod',
    job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    iat: t(-60),
    nbf: t(-60),
    exp: t(300),
    ...over,
  };
}

async function sign(payload: JWTPayload, with_ = key): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(with_);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  // Another key under the same kid: what a forger would sign with.
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
  const pub = await exportJWK(pair.publicKey);
  jwks = createServer((req, res) => {
    if (req.url === '/.well-known/jwks') {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...pub, kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'eg-oidc-'));
  const config = join(dir, 'ledger.yaml');
  writeFileSync(
    config,
    `${readFileSync(TEST_CONFIG, 'utf8')}ledger:
  url: ${AUDIENCE}
  oidc:
    issuer: ${issuer}
    audience: ${AUDIENCE}
    rules:
      - match: { repository: acme/app, ref: refs/heads/main, environment: prod }
        roles: [gate]
      - match: { job_workflow_ref: "acme/governance/.github/workflows/approve.yml@*" }
        roles: [approver]
        products: [db]
      - match: { repository: acme/infra, ref: refs/heads/main }
        roles: [reporter]
        sources: ["terraform:acme/*"]
`,
  );
  l = await startTestLedger({ clock: () => now, config });
});
afterAll(async () => {
  await l?.close();
  jwks?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const decide = (token: string) => l.call('POST', '/v1/decisions', { token, body: { claims: [{ product: 'db', quantity: 1, scope: {} }] } });

describe('GitHub Actions OIDC', () => {
  it('a workflow token mapped to gate decides; its identity requests; a workflow mapped to approver approves', async () => {
    const ci = await sign(claims());
    const ok = await decide(ci);
    expect(ok.status).toBe(200);
    expect(ok.body.allowed).toBe(true);
    const x = await l.call('POST', '/v1/exceptions', {
      token: ci,
      body: { product: 'db', quantity: 2, until: '2026-06-20', reason: 'load test', ticket: 'CHG-7' },
    });
    expect(x.body).toMatchObject({ requestedBy: 'oidc:repo:acme/app:environment:prod' });
    // The gate workflow is no approver.
    expect((await l.call('POST', `/v1/exceptions/${x.body.id}/approve`, { token: ci })).status).toBe(403);
    const approver = await sign(
      claims({
        sub: 'repo:acme/governance:ref:refs/heads/main',
        repository: 'acme/governance',
        job_workflow_ref: 'acme/governance/.github/workflows/approve.yml@refs/heads/main',
      }),
    );
    const approved = await l.call('POST', `/v1/exceptions/${x.body.id}/approve`, { token: approver });
    expect(approved.body).toMatchObject({ state: 'active', approvals: [{ by: 'oidc:repo:acme/governance:ref:refs/heads/main' }] });
    // Limited to db by its rule: a decision on os is refused.
    const os = await l.call('POST', '/v1/decisions', { token: approver, body: { claims: [{ product: 'os', quantity: 1, scope: {} }] } });
    expect(os.status).toBe(403);
    // Keys are fetched once and kept.
    expect(jwksFetches).toBe(1);
  });

  it.each([
    ['a wrong issuer', () => sign(claims({ iss: 'https://token.actions.example.net' })), 401, /issuer is not http:\/\/127\.0\.0\.1/],
    ['a wrong audience', () => sign(claims({ aud: 'https://other.example.com' })), 401, /audience is not "https:\/\/ledger\.example\.com"/],
    ['an expired token', () => sign(claims({ iat: t(-900), nbf: t(-900), exp: t(-300) })), 401, /has expired/],
    ['a token not valid yet', () => sign(claims({ nbf: t(600), exp: t(900) })), 401, /not valid yet/],
    ['a bad signature', () => sign(claims(), otherKey), 401, /signature does not verify/],
    [
      'claims no rule maps',
      () => sign(claims({ sub: 'repo:acme/fork:ref:refs/heads/main', repository: 'acme/fork' })),
      403,
      /matches no rule in ledger.oidc.rules, so it has no role/,
    ],
    ['the right repository on another branch', () => sign(claims({ ref: 'refs/heads/feature' })), 403, /matches no rule/],
  ] as const)('refuses %s', async (_what, make, status, message) => {
    const res = await decide(await make());
    expect(res.status).toBe(status);
    expect(res.body.error).toMatchObject({ code: 'EG_ERR_LEDGER_AUTH', message: expect.stringMatching(message) });
  });

  it('a rule with sources lets its workflow report as those sources only', async () => {
    const infra = await sign(claims({ sub: 'repo:acme/infra:ref:refs/heads/main', repository: 'acme/infra', environment: undefined }));
    const state = {
      version: 1,
      observedAt: '2026-06-01T09:00:00Z',
      usage: [{ product: 'db', quantity: 1, scope: {}, resource: 'aws_instance.db' }],
    };
    expect((await l.call('PUT', '/v1/sources/terraform:acme%2Fpayments/usage', { token: infra, body: state })).status).toBe(200);
    const elsewhere = await l.call('PUT', '/v1/sources/cluster:prod/usage', { token: infra, body: state });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.message).toContain('reports only as terraform:acme/*, not as the source "cluster:prod"');
  });

  it('a rule that does not pin the repository is refused with the config, before anything is served', async () => {
    const loose = join(dir, 'loose.yaml');
    writeFileSync(
      loose,
      `${readFileSync(TEST_CONFIG, 'utf8')}ledger:\n  url: ${AUDIENCE}\n  oidc:\n    audience: ${AUDIENCE}\n    rules:\n      - match: { ref: refs/heads/main, repository: "*" }\n        roles: [gate]\n`,
    );
    await expect(startTestLedger({ clock: () => now, config: loose })).rejects.toMatchObject({
      code: 'EG_ERR_CONFIG_INVALID',
      problems: [
        expect.objectContaining({
          line: expect.any(Number),
          message: expect.stringMatching(/a rule must name repository, repository_owner or job_workflow_ref/),
        }),
      ],
    });
  });

  it('a ledger without ledger.oidc refuses a JWT clearly', async () => {
    const plain = await startTestLedger({ clock: () => now });
    try {
      const res = await plain.call('POST', '/v1/decisions', { token: await sign(claims()), body: { claims: [] } });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/configure ledger.oidc/);
    } finally {
      await plain.close();
    }
  });
});
