// Writes schema/*.schema.json from the zod schemas (the single source of
// truth), so editors autocomplete config and usage files. With --check, fails
// if the committed files differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { config } from '../config/schema.ts';
import { usageSnapshot, claimsFile } from '../engine/config/schema.ts';
import { packageRoot } from '../engine/policy/wasm.ts';

const schemas = {
  'entitlegate.schema.json': { schema: config, title: 'entitlegate config' },
  'usage.schema.json': { schema: usageSnapshot, title: 'entitlegate usage snapshot' },
  'claims.schema.json': { schema: claimsFile, title: 'entitlegate claims' },
};

export function generated(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(schemas).map(([name, { schema, title }]) => {
      const json = { title, ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) };
      return [name, JSON.stringify(json, null, 2) + '\n'];
    }),
  );
}

if (import.meta.main) {
  const dir = join(packageRoot(), 'schema');
  let stale = false;
  for (const [name, text] of Object.entries(generated())) {
    const path = join(dir, name);
    if (process.argv.includes('--check')) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {}
      if (current !== text) {
        console.error(`${path} is stale: run \`npm run schema\` and commit it`);
        stale = true;
      }
    } else writeFileSync(path, text);
  }
  process.exit(stale ? 1 : 0);
}
