import type { Decision } from '../engine/types.ts';
import type { Report } from '../engine/report.ts';
import { decisionGithub, decisionJunit, decisionSarif } from './machine.ts';
import { decisionMarkdown, reportMarkdown } from './markdown.ts';
import { decisionText, reportText } from './text.ts';

/** The output formats of a decision, for every surface. */
export const FORMATS = ['text', 'json', 'markdown', 'github', 'sarif', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

export function renderDecision(d: Decision, format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(d, null, 2) + '\n';
    case 'markdown':
      return decisionMarkdown(d);
    case 'github':
      return decisionGithub(d);
    case 'sarif':
      return decisionSarif(d);
    case 'junit':
      return decisionJunit(d);
    default:
      return decisionText(d);
  }
}

export function renderReport(r: Report, format: Format): string {
  if (format === 'json') return JSON.stringify(r, null, 2) + '\n';
  if (format === 'markdown') return reportMarkdown(r);
  return reportText(r);
}
