// Config rules a schema cannot express, on terms given as dates and instants.
import { describe, expect, it } from 'vitest';
import { EntitlegateError } from '../engine/errors.ts';
import { parseConfig } from './load.ts';

function problems(text: string): string {
  try {
    parseConfig('c.yaml', text);
  } catch (err) {
    if (err instanceof EntitlegateError) return err.describe();
    throw err;
  }
  return '';
}

const withTerm = (from: string, until: string) => `version: 1
products:
  - id: ora
    metric: vcpu
entitlements:
  - id: E1
    product: ora
    model: subscription
    quantity: 1
    validFrom: ${from}
    validUntil: ${until}
`;

describe('entitlement terms', () => {
  it('a term from noon to the end of the same day is valid: a date-only validUntil is the whole day', () => {
    expect(() => parseConfig('c.yaml', withTerm('2026-06-01T12:00:00Z', '2026-06-01'))).not.toThrow();
    expect(() => parseConfig('c.yaml', withTerm('2026-06-01', '2026-06-01'))).not.toThrow();
  });

  it('a term that ends before it starts is refused at the validFrom line', () => {
    expect(problems(withTerm('2026-06-02', '2026-06-01'))).toContain(
      'c.yaml:10:16 validFrom 2026-06-02 is not before the end of validUntil 2026-06-01',
    );
    expect(problems(withTerm('2026-06-01T12:00:00Z', '2026-06-01T12:00:00Z'))).toContain('c.yaml:10:16 validFrom');
  });
});

describe('every problem at once', () => {
  it('cross-entry problems are listed with the schema problems, not on the next run', () => {
    const text = `version: 1
products:
  - id: ora
    metric: vcpu
entitlements:
  - id: E1
    product: oracle
    model: subscription
    quantity: 1
    scope: { environment: [] }
exceptions:
  - id: X1
    product: ora
    quantity: 1
    until: 2026-12-01
    reason: test
    requestedBy: alice
    approvedBy: alice
`;
    const all = problems(text);
    expect(all).toContain('the config has 3 problems');
    expect(all).toContain('c.yaml:7:14 unknown product "oracle"');
    expect(all).toContain('c.yaml:10:');
    expect(all).toContain('c.yaml:18:17 exception X1 is approved by its own requester');
  });
});
