// `npm run bench`: every section in one run on one machine, one table.
//   node bench/run.ts [--quick] [--only NAME[,NAME]] [--no-write]
// Writes bench/results/latest.md and latest.json (unless --no-write, or
// --only, which writes latest-NAME.md/json so a partial run never replaces
// the full table).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './lib/machine.ts';
import { findOpa } from './lib/opa-server.ts';
import { renderMarkdown, renderTable, type Report } from './lib/table.ts';
import type { BenchRow, BenchSection } from './types.ts';

const ORDER = ['decision', 'webhook', 'terraform', 'growth', 'ledger', 'ledger-webhook', 'audit', 'dashboard'] as const;

/** Sections written by others load only when their file is there. */
async function loadSection(name: string): Promise<BenchSection | undefined> {
  const exportName = `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}Section`; // ledger-webhook → ledgerWebhookSection
  try {
    const mod = (await import(`./sections/${name}.ts`)) as Record<string, unknown>;
    const section = mod[exportName] as BenchSection | undefined;
    if (!section || typeof section.run !== 'function') throw new Error(`bench/sections/${name}.ts does not export ${exportName}`);
    return section;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`sections/${name}.ts`)) return undefined;
    throw e;
  }
}

function opaPath(): string | null {
  try {
    return findOpa();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
  });
  const quick = values.quick ?? false;
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of only ?? [])
    if (!(ORDER as readonly string[]).includes(n)) throw new Error(`--only: unknown section "${n}" (sections: ${ORDER.join(', ')})`);
  const names = ORDER.filter((n) => !only || only.includes(n));

  const log = (line: string) => process.stderr.write(`  ${line}\n`);
  const report: Report = { machine: machineInfo(opaPath()), mode: quick ? 'quick' : 'full', sections: [], rows: [] };
  for (const name of names) {
    const start = performance.now();
    let section: BenchSection | undefined;
    try {
      section = await loadSection(name);
    } catch (e) {
      report.sections.push({ name, ok: false, error: `cannot load: ${(e as Error).message}`, seconds: 0 });
      continue;
    }
    if (!section) {
      process.stderr.write(`${name}: bench/sections/${name}.ts not present, skipped\n`);
      continue;
    }
    process.stderr.write(`${name}:\n`);
    try {
      const rows: BenchRow[] = await section.run({ quick, log });
      report.rows.push(...rows);
      report.sections.push({ name, ok: true, seconds: (performance.now() - start) / 1000 });
    } catch (e) {
      const msg = (e as Error).stack ?? String(e);
      process.stderr.write(`${name}: FAILED: ${msg}\n`);
      report.sections.push({ name, ok: false, error: (e as Error).message, seconds: (performance.now() - start) / 1000 });
    }
    process.stderr.write(`${name}: ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  }

  process.stdout.write(`\n${renderTable(report.rows)}\n\n`);
  for (const s of report.sections.filter((x) => !x.ok)) process.stdout.write(`Section ${s.name} FAILED: ${s.error}\n`);
  const missed = report.rows.filter((r) => r.met === false);
  if (missed.length)
    process.stdout.write(`Targets missed: ${missed.map((r) => `${r.section}/${r.subject} (${r.input}): ${r.target}`).join('; ')}\n\n`);
  if (!values['no-write']) {
    const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
    mkdirSync(dir, { recursive: true });
    const base = only ? `latest-${names.join('-')}` : 'latest';
    writeFileSync(join(dir, `${base}.md`), renderMarkdown(report));
    writeFileSync(join(dir, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`written: bench/results/${base}.md, bench/results/${base}.json\n`);
  }
  if (report.sections.some((s) => !s.ok)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
