import { describe, expect, it } from 'vitest';
import { Reservations } from './reservations.ts';

const claim = (quantity: number | null, namespace = 'prod') => ({ product: 'ora', quantity, scope: { namespace } });

describe('Reservations', () => {
  it('sums per product and scope, holds only positive quantities, and expires after the TTL', () => {
    let now = 0;
    const r = new Reservations({ ttlMs: 1000, elapsed: () => now });
    r.hold('Deployment/prod/a', [claim(2)]);
    r.hold('Deployment/prod/b', [claim(3), claim(-5), claim(null)]);
    r.hold('Deployment/dev/c', [claim(1, 'dev')]);
    expect(r.active()).toEqual([
      { product: 'ora', quantity: 5, scope: { namespace: 'prod' } },
      { product: 'ora', quantity: 1, scope: { namespace: 'dev' } },
    ]);
    now = 500;
    r.hold('Deployment/prod/a', [claim(1)]); // adds up and extends a's expiry
    now = 1000;
    expect(r.active()).toEqual([{ product: 'ora', quantity: 3, scope: { namespace: 'prod' } }]);
    now = 1500;
    expect(r.active()).toEqual([]);
  });

  it('releases on an informer event only the holds made before the event', () => {
    const r = new Reservations({ ttlMs: 60_000, elapsed: () => 0 });
    r.hold('Deployment/prod/a', [claim(2)]);
    const seenAt = r.mark(); // the informer reports a (its CREATE)…
    r.hold('Deployment/prod/a', [claim(4)]); // …and an UPDATE is admitted before the flush
    expect(r.release('Deployment/prod/a', seenAt)).toBe(false);
    expect(r.size).toBe(1);
    expect(r.release('Deployment/prod/a', r.mark())).toBe(true);
    expect(r.active()).toEqual([]);
  });
});
