// The dashboard's static files: its page, script and style (ledger/dashboard/ui,
// plain browser code with no build step) and uPlot's, from the installed
// package; all served by the ledger itself, nothing from a CDN.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../engine/policy/wasm.ts';

export interface UiFile {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Read once at start: a missing file is a broken install, said before anything is served. */
export function loadUiFiles(): Map<string, UiFile> {
  const root = packageRoot();
  const ui = join(root, 'ledger', 'dashboard', 'ui');
  const uplot = (f: string) => createRequire(join(root, 'package.json')).resolve(`uplot/dist/${f}`);
  const files: [string, string][] = [
    ['index.html', join(ui, 'index.html')],
    ['app.js', join(ui, 'app.js')],
    ['app.css', join(ui, 'app.css')],
    ['uplot.js', uplot('uPlot.iife.min.js')],
    ['uplot.css', uplot('uPlot.min.css')],
  ];
  return new Map(files.map(([name, path]) => [name, { type: TYPES[name.slice(name.lastIndexOf('.'))]!, body: readFileSync(path) }]));
}

// Everything from the ledger's own origin; no inline script or style, no framing.
export const UI_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
