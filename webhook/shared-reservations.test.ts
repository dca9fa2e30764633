// The shared ledger's protocol, against an in-memory Lease API that behaves
// like the API server on the points that matter (resourceVersion bumped on
// every write, 409 on a stale PUT or a second POST, 404 before creation). The
// real API server is exercised by test/e2e/shared-reservations.test.ts.
import { describe, expect, it } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import type { Claim, Decision, UsageRecord } from '../engine/types.ts';
import {
  KeyedMutex,
  LEDGER_ANNOTATION,
  SharedReservations,
  leaseName,
  type CountedVersion,
  type SharedReservationsOptions,
} from './shared-reservations.ts';

class ApiError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`HTTP ${code}`);
    this.code = code;
  }
}

class FakeLeases {
  #rv = 1;
  leases = new Map<string, V1Lease>();
  writes = 0;
  conflicts = 0;
  async readNamespacedLease({ name, namespace }: { name: string; namespace: string }): Promise<V1Lease> {
    await new Promise((r) => setImmediate(r));
    const l = this.leases.get(`${namespace}/${name}`);
    if (!l) throw new ApiError(404);
    return structuredClone(l);
  }
  async createNamespacedLease({ namespace, body }: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    await new Promise((r) => setImmediate(r));
    const key = `${namespace}/${body.metadata!.name}`;
    if (this.leases.has(key)) {
      this.conflicts++;
      throw new ApiError(409);
    }
    return this.#store(key, body);
  }
  async replaceNamespacedLease({ name, namespace, body }: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    await new Promise((r) => setImmediate(r));
    const key = `${namespace}/${name}`;
    const cur = this.leases.get(key);
    if (!cur) throw new ApiError(404);
    if (body.metadata?.resourceVersion !== cur.metadata?.resourceVersion) {
      this.conflicts++;
      throw new ApiError(409);
    }
    return this.#store(key, body);
  }
  #store(key: string, body: V1Lease): V1Lease {
    this.writes++;
    const stored = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.#rv) } });
    this.leases.set(key, stored);
    return structuredClone(stored);
  }
}

const claim = (product: string, quantity: number, name = 'x'): Claim =>
  ({ product, metric: 'vcpu', quantity, scope: { cluster: 'c' }, resource: { kind: 'Deployment', namespace: 'ns', name } }) as Claim;

/** A stand-in for the engine: allowed while used + reserved + requested ≤ capacity. */
function decider(capacity: number, used: () => number, claims: Claim[]) {
  return (reservations: UsageRecord[]): Decision => {
    const requested = claims.reduce((s, c) => s + (c.quantity ?? 0), 0);
    const reserved = reservations.reduce((s, r) => s + r.quantity, 0);
    return { allowed: used() + reserved + requested <= capacity } as Decision;
  };
}

function store(api: FakeLeases, replica: string, extra: Partial<SharedReservationsOptions> = {}): SharedReservations {
  return new SharedReservations({
    kubeConfig: undefined as never,
    api: api as never,
    namespace: 'entitlegate',
    replica,
    ttlMs: () => 60_000,
    counted: () => undefined,
    backoff: () => Math.random() * 3,
    maxAttempts: 50,
    ...extra,
  });
}

describe('leaseName', () => {
  it('is entitlegate-<id> for DNS-1123 ids, sanitised with a hash otherwise', () => {
    expect(leaseName('oracle-db-ee')).toBe('entitlegate-oracle-db-ee');
    const odd = leaseName('Oracle_DB:EE');
    expect(odd).toMatch(/^entitlegate-oracle-db-ee-[0-9a-f]{10}$/);
    expect(leaseName('oracle_db:ee')).not.toBe(odd); // different ids, different hashes
  });
});

describe('KeyedMutex', () => {
  it('runs holders of one key one after another', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map(async (n) => {
        const release = await m.acquire(['p']);
        order.push(`in ${n}`);
        await new Promise((r) => setTimeout(r, 2));
        order.push(`out ${n}`);
        release();
      }),
    );
    expect(order).toEqual(['in a', 'out a', 'in b', 'out b', 'in c', 'out c']);
    expect(m.held).toBe(0);
  });
});

describe('SharedReservations', () => {
  it('two replicas, 60 concurrent admissions of 1 for 10 free: exactly 10 allowed, with conflicts retried', async () => {
    const api = new FakeLeases();
    const replicas = [store(api, 'r1'), store(api, 'r2')];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const claims = [claim('db', 1, `d${i}`)];
        return replicas[i % 2]!.admit(
          { key: `Deployment/ns/d${i}`, admission: `u${i}`, dryRun: false },
          claims,
          decider(10, () => 0, claims),
        );
      }),
    );
    expect(results.filter((d) => d.allowed)).toHaveLength(10);
    const ledger = JSON.parse(api.leases.get('entitlegate/entitlegate-db')!.metadata!.annotations![LEDGER_ANNOTATION]!) as {
      replica: string;
    }[];
    expect(ledger).toHaveLength(10);
    expect(api.conflicts).toBeGreaterThan(0); // the two replicas did race
    expect(replicas[0]!.stats.conflicts + replicas[1]!.stats.conflicts).toBe(api.conflicts);
  });

  it('a dry run decides with the ledger but writes nothing', async () => {
    const api = new FakeLeases();
    const s = store(api, 'r1');
    const c1 = [claim('db', 8, 'a')];
    expect(
      (
        await s.admit(
          { key: 'Deployment/ns/a', admission: 'u1', dryRun: false },
          c1,
          decider(10, () => 0, c1),
        )
      ).allowed,
    ).toBe(true);
    const writes = api.writes;
    const c2 = [claim('db', 3, 'b')];
    expect(
      (
        await s.admit(
          { key: 'Deployment/ns/b', admission: 'u2', dryRun: true },
          c2,
          decider(10, () => 0, c2),
        )
      ).allowed,
    ).toBe(false);
    const c3 = [claim('db', 2, 'c')];
    expect(
      (
        await s.admit(
          { key: 'Deployment/ns/c', admission: 'u3', dryRun: true },
          c3,
          decider(10, () => 0, c3),
        )
      ).allowed,
    ).toBe(true);
    expect(api.writes).toBe(writes);
  });

  it('drops entries the engine counts (CREATE: the uid; UPDATE: a later resourceVersion) and expired ones', async () => {
    const api = new FakeLeases();
    const counted = new Map<string, CountedVersion>();
    let now = 1_000_000;
    const s = store(api, 'r1', { counted: (k) => counted.get(k), now: () => now });
    const c = (n: string, q: number) => [claim('db', q, n)];
    await s.admit(
      { key: 'Deployment/ns/a', admission: 'u1', uid: 'uid-a', dryRun: false },
      c('a', 1),
      decider(10, () => 0, c('a', 1)),
    );
    await s.admit(
      { key: 'Deployment/ns/b', admission: 'u2', uid: 'uid-b', after: '7', dryRun: false },
      c('b', 2),
      decider(10, () => 0, c('b', 2)),
    );
    await s.admit(
      { key: 'Deployment/ns/c', admission: 'u3', uid: 'uid-c', dryRun: false },
      c('c', 3),
      decider(10, () => 0, c('c', 3)),
    );
    expect((await s.pending('db')).map((e) => e.key)).toEqual(['Deployment/ns/a', 'Deployment/ns/b', 'Deployment/ns/c']);

    counted.set('Deployment/ns/a', { uid: 'other-incarnation', deleted: false, at: 0 });
    counted.set('Deployment/ns/b', { uid: 'uid-b', resourceVersion: '7', deleted: false, at: 0 }); // still the old version
    expect(await s.pending('db')).toHaveLength(3);
    counted.set('Deployment/ns/a', { uid: 'uid-a', resourceVersion: '9', deleted: false, at: 0 });
    counted.set('Deployment/ns/b', { uid: 'uid-b', resourceVersion: '8', deleted: false, at: 0 });
    expect((await s.pending('db')).map((e) => e.key)).toEqual(['Deployment/ns/c']);
    now += 60_001;
    expect(await s.pending('db')).toEqual([]);
    expect(s.size).toBe(0);
  });

  it('fails safe after maxAttempts conflicting writes', async () => {
    const api = new FakeLeases();
    const s = store(api, 'r1', { maxAttempts: 3 });
    const c = [claim('db', 1)];
    await s.admit(
      { key: 'Deployment/ns/x', admission: 'u0', dryRun: false },
      c,
      decider(10, () => 0, c),
    );
    // Someone else writes the Lease between every read and our write.
    const replace = api.replaceNamespacedLease.bind(api);
    api.replaceNamespacedLease = async (args) => {
      const cur = api.leases.get('entitlegate/entitlegate-db')!;
      cur.metadata!.resourceVersion = `${cur.metadata!.resourceVersion}x`;
      return replace(args);
    };
    await expect(
      s.admit(
        { key: 'Deployment/ns/y', admission: 'u1', dryRun: false },
        c,
        decider(10, () => 0, c),
      ),
    ).rejects.toThrow(/kept changing under us \(3 conflicting writes\)/);
    expect(s.stats.failures).toBe(1);
  });

  it('a Lease deleted between read and write is read again (created afresh), not a failure', async () => {
    const api = new FakeLeases();
    const s = store(api, 'r1');
    const c = [claim('db', 2)];
    await s.admit(
      { key: 'Deployment/ns/x', admission: 'u0', dryRun: false },
      c,
      decider(10, () => 0, c),
    );
    const replace = api.replaceNamespacedLease.bind(api);
    let deletions = 0;
    api.replaceNamespacedLease = async (args) => {
      if (!deletions++) api.leases.delete('entitlegate/entitlegate-db');
      return replace(args);
    };
    const d = await s.admit(
      { key: 'Deployment/ns/y', admission: 'u1', dryRun: false },
      c,
      decider(10, () => 0, c),
    );
    expect(d.allowed).toBe(true);
    expect((await s.pending('db')).map((e) => e.admission)).toEqual(['u1']);
    expect(s.stats.reserved.get('db')).toBe(2);
    expect(s.stats.failures).toBe(0);
  });

  it('multi-product admissions take the products in sorted order and record each', async () => {
    const api = new FakeLeases();
    const s = [store(api, 'r1'), store(api, 'r2')];
    const both = (i: number) => [claim('zeta', 1, `m${i}`), claim('alpha', 1, `m${i}`)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s[i % 2]!.admit(
          { key: `Deployment/ns/m${i}`, admission: `m${i}`, dryRun: false },
          both(i),
          decider(10, () => 0, both(i)),
        ),
      ),
    );
    // Each admission asks 2 (one per product); the stand-in decider sums both ledgers: 5 fit.
    expect(results.filter((d) => d.allowed)).toHaveLength(5);
    for (const p of ['alpha', 'zeta']) {
      expect(JSON.parse(api.leases.get(`entitlegate/entitlegate-${p}`)!.metadata!.annotations![LEDGER_ANNOTATION]!)).toHaveLength(5);
    }
  });
});
