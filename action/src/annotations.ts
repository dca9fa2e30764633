// Annotations: each finding on the line that caused it. Findings about a
// resource point at its manifest or plan line (render/machine.ts
// locatedFindings); findings with no resource file (claims JSON, expired
// contracts) point at the entitlement, exception or product in the config.
import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { findingTitle } from '../../render/common.ts';
import { locatedFindings } from '../../render/machine.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { parseSource, positionOf, type Path, type SourceDoc } from '../../engine/source.ts';
import type { Decision, Finding } from '../../engine/types.ts';

export interface Annotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
  /** Relative to the workspace, `/`-separated. */
  file: string;
  line: number;
}

function configPath(config: LoadedConfig, f: Finding): Path {
  const c = config.config;
  const e = c.entitlements.findIndex((x) => x.id === f.entitlement);
  if (e >= 0) return ['entitlements', e];
  const x = c.exceptions.findIndex((x) => x.id === f.entitlement);
  if (x >= 0) return ['exceptions', x];
  const p = c.products.findIndex((x) => x.id === f.product);
  return p >= 0 ? ['products', p] : [];
}

export function annotationsOf(d: Decision, config: LoadedConfig, configFile: string): Annotation[] {
  let src: SourceDoc | null | undefined;
  const configLine = (f: Finding): number => {
    if (src === undefined) {
      try {
        src = parseSource(configFile, readFileSync(config.file, 'utf8'), 'EG_ERR_CONFIG_INVALID', 'the config');
      } catch {
        src = null;
      }
    }
    return src ? positionOf(src, configPath(config, f)).line : 1;
  };
  return locatedFindings(d).map(({ finding, level, file, line }) => ({
    level,
    title: findingTitle(finding),
    message: finding.message,
    ...(file ? { file, line: line ?? 1 } : { file: configFile, line: configLine(finding) }),
  }));
}

/** Workflow-command annotations: shown on the run and, for changed lines, in the PR diff. */
export function emitAnnotations(list: readonly Annotation[]): void {
  for (const a of list) {
    const props = { title: a.title, file: a.file, startLine: a.line };
    if (a.level === 'error') core.error(a.message, props);
    else core.warning(a.message, props);
  }
}
