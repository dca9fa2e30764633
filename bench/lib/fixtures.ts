// Inputs shared by the sections: the bundled example (a realistic config:
// three products, prod and any-environment pools, an exception) and generated
// configs and usage of any size.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type LoadedConfig } from '../../config/load.ts';
import { Engine, type UsageSource } from '../../engine/engine.ts';
import { parseUsage } from '../../engine/usage.ts';
import { packageRoot } from '../../engine/policy/wasm.ts';
import type { Claim } from '../../engine/types.ts';

export const NOW = new Date('2026-11-28T10:00:00Z');

const root = packageRoot();
const example = (f: string) => join(root, 'examples', f);

export interface Fixture {
  config: LoadedConfig;
  usage: UsageSource[];
  claims: Claim[];
}

/** examples/entitlegate.yaml + examples/usage.yaml, one claim (examples/claims/fits.json). */
export function exampleFixture(): Fixture {
  const config = parseConfig(example('entitlegate.yaml'), readFileSync(example('entitlegate.yaml'), 'utf8'));
  const usage = [parseUsage(example('usage.yaml'), readFileSync(example('usage.yaml'), 'utf8'))];
  const claims = (JSON.parse(readFileSync(example('claims/fits.json'), 'utf8')) as { claims: Claim[] }).claims;
  return { config, usage, claims };
}

export function engineFor(f: Fixture): Promise<Engine> {
  return Engine.create(f.config, f.usage);
}

const ENVS = ['prod', 'staging', 'dev', 'test'];

/**
 * A config of `n` products shaped like the example: product 0 is the one the
 * claim names (a prod pool, an any-environment pool, an exception); every
 * other product has an entitlement of its own, every third a prod-only one
 * too. Written as JSON text (JSON is YAML) and loaded through parseConfig, the
 * same validation a user's file gets.
 */
export function generatedConfig(n: number): LoadedConfig {
  const products: object[] = [];
  const entitlements: object[] = [];
  const exceptions: object[] = [];
  for (let i = 0; i < n; i++) {
    const id = `product-${i}`;
    products.push({
      id,
      vendor: `Vendor ${i % 97}`,
      name: `Product ${i}`,
      metric: i % 2 ? 'instances' : 'vcpu',
      match: { kubernetes: { images: [`registry.example.com/vendor-${i}/*`] } },
    });
    entitlements.push({
      id: `ENT-${i}-ANY`,
      product: id,
      model: 'subscription',
      quantity: 1_000_000,
      validFrom: '2026-01-01',
      validUntil: '2027-06-30',
      owner: `team-${i % 50}@example.com`,
      contract: { ref: `PO-${i}`, unitCost: 100, currency: 'USD' },
    });
    if (i % 3 === 0)
      entitlements.push({
        id: `ENT-${i}-PROD`,
        product: id,
        model: 'subscription',
        quantity: 64,
        validFrom: '2026-01-01',
        validUntil: '2026-12-31',
        scope: { environment: ['prod'] },
        owner: `team-${i % 50}@example.com`,
      });
  }
  exceptions.push({
    id: 'EXC-0',
    product: 'product-0',
    quantity: 8,
    until: '2026-12-15',
    scope: { environment: ['prod'] },
    reason: 'cutover',
    requestedBy: 'alice',
    approvedBy: 'bob',
  });
  const doc = {
    version: 1,
    defaults: { warnAt: 0.8, expiryWarningDays: 30, unlicensed: 'deny', unknownQuantity: 'deny', peak: 'warn' },
    products,
    entitlements,
    exceptions,
  };
  return parseConfig(`generated-${n}-products.yaml`, JSON.stringify(doc));
}

/** `n` usage records spread over `products` products and many scopes (same product+scope adds up, so scopes are kept distinct). */
export function generatedUsage(n: number, products: number): UsageSource {
  const usage = [];
  for (let i = 0; i < n; i++) {
    usage.push({
      product: `product-${i % products}`,
      quantity: 1 + (i % 3),
      scope: { environment: ENVS[i % ENVS.length]!, cluster: `cluster-${i % 20}`, namespace: `ns-${Math.floor(i / products)}` },
    });
  }
  return { source: 'bench-generated', observedAt: '2026-11-28T06:00:00Z', usage };
}

/** One claim for product-0 in dev: it fits the any-environment pool. */
export const generatedClaims: Claim[] = [
  {
    product: 'product-0',
    quantity: 4,
    scope: { environment: 'dev', cluster: 'cluster-1', namespace: 'orders-dev' },
    resource: { kind: 'Deployment', name: 'orders-db', namespace: 'orders-dev' },
  },
];
