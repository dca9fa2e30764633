import type { Decision } from '../engine/types.ts';
import type { Report } from '../engine/report.ts';
import { decisionAtlantis } from './atlantis.ts';
import { headline } from './common.ts';
import type { RenderContext } from './context.ts';
import { decisionJunit } from './junit.ts';
import { decisionGithub } from './machine.ts';
import { decisionSarif } from './sarif.ts';
import { decisionMarkdown, reportMarkdown } from './markdown.ts';
import { decisionText, reportText } from './text.ts';

/** The output formats of a decision, for every surface. */
export const FORMATS = ['text', 'json', 'markdown', 'github', 'sarif', 'junit', 'atlantis'] as const;
export type Format = (typeof FORMATS)[number];

export type { RenderContext } from './context.ts';

/** `check --quiet`: the verdict and the counts on one line, for scripts. */
export function quietLine(d: Decision): string {
  return `entitlegate: ${headline(d)}\n`;
}

export function renderDecision(d: Decision, format: Format, ctx: RenderContext = {}): string {
  switch (format) {
    case 'json':
      return JSON.stringify(d, null, 2) + '\n';
    case 'markdown':
      return decisionMarkdown(d);
    case 'github':
      return decisionGithub(d);
    case 'sarif':
      return decisionSarif(d, ctx);
    case 'junit':
      return decisionJunit(d);
    case 'atlantis':
      return decisionAtlantis(d);
    default:
      return decisionText(d);
  }
}

export function renderReport(r: Report, format: Format): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  if (format === 'markdown') return reportMarkdown(r);
  return reportText(r);
}
