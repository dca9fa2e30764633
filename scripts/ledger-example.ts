// `npm run ledger:example`: the ledger with the examples, for a look at the
// dashboard. A fresh embedded store in a temp folder, the example usage put as
// the source sam:example, an admin token printed once, and the dashboard's
// address. With --generated, 1,000 generated products × 25 months of history
// instead (what the browser tests and the bench use). Ctrl-C stops it.
//
//   node scripts/ledger-example.ts [--generated] [--port 8480]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createToken } from '../ledger/auth.ts';
import { startLedgerServer } from '../ledger/serve.ts';
import { seedLedger } from '../ledger/testing/seed.ts';

const { values } = parseArgs({ options: { generated: { type: 'boolean', default: false }, port: { type: 'string', default: '8480' } } });
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'eg-ledger-example-'));
// The examples are dated 28 November 2026; the generated history ends today.
const now = values.generated ? new Date() : new Date('2026-11-28T10:00:00Z');
let config = join(root, 'examples', 'entitlegate.yaml');
let store = join(dir, 'ledger.db');
if (values.generated) {
  process.stderr.write('generating 1,000 products × 25 months of history…\n');
  ({ config, store } = await seedLedger(dir, { products: 1000, months: 25, now }));
}
const { app, ledger, address } = await startLedgerServer({
  config,
  store,
  port: Number(values.port),
  host: '127.0.0.1',
  clock: () => now,
  logLevel: 'warn',
});
const { token } = await createToken(ledger.store, 'example-admin', ['admin'], now, 'cli');
if (!values.generated) {
  const res = await fetch(`${address}/v1/sources/sam:example/usage`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' },
    body: readFileSync(join(root, 'examples', 'usage.yaml'), 'utf8'),
  });
  if (!res.ok) throw new Error(`putting the example usage failed: HTTP ${res.status} ${await res.text()}`);
}
process.stdout.write(`dashboard: ${address}/ui\ntoken (admin, every view): ${token}\n`);
const stop = async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
