// The layout is the data flow: surfaces stand on the shared core (engine,
// adapters, config, inputs, render, ledger-client) and never on each other; the engine knows
// licences only; config/ composes the settings each part owns, and nothing else. Read from the sources' import lines, so a new file is
// covered the day it is added.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const SURFACES = ['cli', 'action', 'webhook', 'ledger'];

function sources(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .filter((f) => !f.split(sep).includes('dist') && !f.split(sep).includes('node_modules'));
}

/** The file each relative import of a file lands in, from the root. */
function importedPaths(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(
      relative(root, resolve(root, file, '..', m[1]!))
        .split(sep)
        .join('/'),
    );
  }
  return out;
}

/** The top-level folder each relative import of a file lands in. */
function importedFolders(file: string): string[] {
  return importedPaths(file).map((p) => p.split('/')[0]!);
}

/** The settings modules a part owns: its schemas, which config/ composes into the config file's. */
const SETTINGS = [
  'adapters/kubernetes/settings.ts',
  'adapters/terraform/settings.ts',
  'webhook/settings.ts',
  'ledger/settings.ts',
  'ledger/governance-settings.ts',
];

describe('layout', () => {
  it('finds the files it checks (a check that reads nothing proves nothing)', () => {
    for (const s of ['cli', 'action', 'webhook', 'engine', 'config', 'inputs', 'render', 'ledger-client'])
      expect(sources(s).length, s).toBeGreaterThan(0);
    for (const f of SETTINGS) expect(sources(f.slice(0, f.lastIndexOf('/'))), f).toContain(f.split('/').join(sep));
  });

  for (const surface of SURFACES) {
    it(`${surface}/ imports no other surface${surface === 'cli' ? ' (but starts the servers through their entry points)' : ''}`, () => {
      const bad: string[] = [];
      for (const file of sources(surface)) {
        for (const folder of importedFolders(file)) {
          if (folder === surface || !SURFACES.includes(folder)) continue;
          if (surface === 'cli' && file.startsWith(`cli${sep}serve`)) continue;
          bad.push(`${file} → ${folder}/`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('the engine imports neither adapters nor surfaces', () => {
    const bad = sources('engine').flatMap((f) =>
      importedFolders(f)
        .filter((d) => d !== 'engine' && d !== 'policies')
        .map((d) => `${f} → ${d}/`),
    );
    expect(bad).toEqual([]);
  });

  it("config/ composes the engine and the parts' settings modules, and imports nothing else of adapters or surfaces", () => {
    const bad = sources('config').flatMap((f) =>
      importedPaths(f)
        .filter((p) => !p.startsWith('engine/') && !p.startsWith('config/') && !SETTINGS.includes(p))
        .map((p) => `${f} → ${p}`),
    );
    expect(bad).toEqual([]);
  });

  it("a settings module is pure: it imports the engine's schema pieces and nothing of its own folder", () => {
    const bad = SETTINGS.flatMap((f) =>
      importedPaths(f)
        .filter((p) => !p.startsWith('engine/'))
        .map((p) => `${f} → ${p}`),
    );
    expect(bad).toEqual([]);
  });

  it('the shared core imports no surface', () => {
    const bad = ['inputs', 'render', 'adapters', 'ledger-client'].flatMap((dir) =>
      sources(dir).flatMap((f) =>
        importedFolders(f)
          .filter((d) => SURFACES.includes(d))
          .map((d) => `${f} → ${d}/`),
      ),
    );
    expect(bad).toEqual([]);
  });
});
