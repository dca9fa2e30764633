// The platform view's headroom by scope, through the API: capacity per scope
// from the engine's pools (a scoped entitlement counts in its scope, an
// unscoped one in every scope), against figures worked out by hand.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../../test/cli-harness.ts';
import { createToken } from '../auth.ts';
import { type TestLedger, startTestLedger } from '../testing/harness.ts';

const NOW = new Date('2026-06-01T10:00:00Z');
let l: TestLedger;
let dir: string;

// prod 8, staging 4, and 2 usable anywhere; one more prod entitlement has ended (not counted).
const CONFIG = `version: 1
products:
  - { id: db, metric: instances }
entitlements:
  - { id: DB-PROD, product: db, model: subscription, quantity: 8, validFrom: 2026-01-01, validUntil: 2026-12-31, scope: { environment: prod } }
  - { id: DB-STAGING, product: db, model: subscription, quantity: 4, validFrom: 2026-01-01, validUntil: 2026-12-31, scope: { environment: staging } }
  - { id: DB-ANY, product: db, model: subscription, quantity: 2, validFrom: 2026-01-01, validUntil: 2026-12-31 }
  - { id: DB-OLD, product: db, model: subscription, quantity: 50, validFrom: 2025-01-01, validUntil: 2025-12-31, scope: { environment: prod } }
`;

beforeAll(() => {
  dir = tempFiles({ 'config.yaml': CONFIG });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await l?.close();
});

describe('headroom by scope', () => {
  it('shows used, reserved, capacity and headroom per scope, an unscoped entitlement shared by every scope', async () => {
    l = await startTestLedger({ clock: () => NOW, config: join(dir, 'config.yaml') });
    const put = await l.call('PUT', '/v1/sources/cluster:a/usage', {
      token: l.tokens.reporter,
      body: {
        version: 1,
        observedAt: NOW.toISOString(),
        usage: [
          { product: 'db', quantity: 9, scope: { environment: 'prod' } },
          { product: 'db', quantity: 2, scope: { environment: 'staging' } },
        ],
      },
    });
    expect(put.status).toBe(200);
    const held = await l.call('POST', '/v1/decisions', {
      token: l.tokens.gate,
      body: { claims: [{ product: 'db', quantity: 1, scope: { environment: 'staging' } }], reserve: true },
    });
    expect(held.body.allowed, JSON.stringify(held.body)).toBe(true);

    const viewer = (await createToken(l.ledger.store, 'viewer-t', ['viewer'], NOW, 'test')).token;
    const res = await l.call('GET', '/v1/dashboard/platform', { token: viewer });
    expect(res.status).toBe(200);
    const db = res.body.products.find((p: { product: string }) => p.product === 'db');
    expect(db).toMatchObject({ capacity: 14, used: 11, reserved: 1, headroom: 2 });
    // prod: DB-PROD 8 + DB-ANY 2 = 10; its 9 fill DB-PROD and take 1 of DB-ANY: 1 left.
    // staging: DB-STAGING 4 + DB-ANY 2 = 6; 2 used and 1 reserved in DB-STAGING: 1 left there, and DB-ANY's last 1.
    expect(db.scopes).toEqual([
      { scope: { environment: 'prod' }, used: 9, reserved: 0, capacity: 10, headroom: 1 },
      { scope: { environment: 'staging' }, used: 2, reserved: 1, capacity: 6, headroom: 2 },
    ]);
  });
});
