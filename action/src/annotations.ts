// Annotations: each finding on the line that caused it. Findings about a
// resource point at its manifest or plan line (render/machine.ts
// locatedFindings); findings with no resource file (claims JSON, expired
// contracts) point at the entitlement, exception or product in the config.
import * as core from '@actions/core';
import { findingTitle } from '../../render/common.ts';
import { locatedFindings } from '../../render/machine.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { definitionLines } from '../../engine/config/definitions.ts';
import type { Decision } from '../../engine/types.ts';

export interface Annotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
  /** Relative to the workspace, `/`-separated. */
  file: string;
  line: number;
}

export function annotationsOf(d: Decision, config: LoadedConfig, configFile: string): Annotation[] {
  const configLine = definitionLines(config);
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
