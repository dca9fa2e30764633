// Where the config defines each entitlement, exception and product, as a line
// number: a finding that names no file of the change (an expired contract, a
// claims JSON input) is pointed at the contract line it is about, so SARIF,
// annotations and check runs always have a place to show it.
import { readFileSync } from 'node:fs';
import { parseSource, positionOf, type Path, type SourceDoc } from '../source.ts';
import type { LoadedConfig } from './load.ts';

export interface DefinedIds {
  product: string | null;
  entitlement: string | null;
}

/** The config line that defines what a finding is about: its entitlement or exception, else its product, else line 1. */
export type DefinitionLine = (ids: DefinedIds) => number;

function pathOf(config: LoadedConfig, ids: DefinedIds): Path {
  const c = config.config;
  const e = c.entitlements.findIndex((x) => x.id === ids.entitlement);
  if (e >= 0) return ['entitlements', e];
  const x = c.exceptions.findIndex((x) => x.id === ids.entitlement);
  if (x >= 0) return ['exceptions', x];
  const p = c.products.findIndex((x) => x.id === ids.product);
  return p >= 0 ? ['products', p] : [];
}

/** Reads the config file again (once, on first use) for its positions; line 1 if it changed since. */
export function definitionLines(config: LoadedConfig): DefinitionLine {
  let src: SourceDoc | null | undefined;
  return (ids) => {
    if (src === undefined) {
      try {
        src = parseSource(config.file, readFileSync(config.file, 'utf8'), 'EG_ERR_CONFIG_INVALID', 'the config');
      } catch {
        src = null;
      }
    }
    return src ? positionOf(src, pathOf(config, ids)).line : 1;
  };
}
