// A decision as an HCP Terraform task result: status, a one-line message and,
// when the caller announces `capabilities.outcomes`, one outcome per finding
// (JSON:API `task-result-outcomes`, with tags and a Markdown body).
import type { Decision, Finding, ProductOutcome } from '../engine/types.ts';
import { VERSION } from '../engine/version.ts';

export type TaskStatus = 'passed' | 'failed';

export interface TagValue {
  label: string;
  level?: 'none' | 'info' | 'warning' | 'error';
}

export interface TaskOutcome {
  type: 'task-result-outcomes';
  attributes: {
    'outcome-id': string;
    description: string;
    body?: string;
    url?: string;
    tags?: Record<string, TagValue[]>;
  };
}

export interface TaskResult {
  data: {
    type: 'task-results';
    attributes: { status: TaskStatus; message: string; url?: string };
    relationships?: { outcomes: { data: TaskOutcome[] } };
  };
}

const MESSAGE_MAX = 500;

/** The decision as a task result: status, a one-line message, and an outcome per finding. */
export function resultOf(decision: Decision, capabilities: { outcomes?: boolean } | undefined): TaskResult {
  const v = decision.violations.length;
  const w = decision.warnings.length;
  const counts = `${v} violation${v === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}, ${decision.claims.length} licensed change${decision.claims.length === 1 ? '' : 's'}`;
  const status: TaskStatus = decision.allowed ? 'passed' : 'failed';
  const head = !decision.allowed
    ? 'blocked: this plan exceeds licence entitlements'
    : v > 0
      ? `allowed in ${decision.mode} mode despite violations`
      : decision.claims.length === 0
        ? 'allowed: the plan changes no licensed resources'
        : 'allowed: within licence entitlements';
  const first = decision.violations[0] ?? decision.warnings[0];
  const message = `${head} (${counts})${first ? `. ${first.code}: ${first.message}` : ''}`;
  const result = taskResult(status, message);
  if (capabilities?.outcomes) {
    const products = new Map(decision.products.map((p) => [p.product, p]));
    const outcomes = [
      ...decision.violations.map((f, i) => outcome(f, i, 'violation', decision, products.get(f.product ?? ''))),
      ...decision.warnings.map((f, i) => outcome(f, i, 'warning', decision, products.get(f.product ?? ''))),
    ];
    if (outcomes.length > 0) result.data.relationships = { outcomes: { data: outcomes } };
  }
  return result;
}

function outcome(
  f: Finding,
  i: number,
  kind: 'violation' | 'warning',
  decision: Decision,
  product: ProductOutcome | undefined,
): TaskOutcome {
  const blocking = kind === 'violation' && decision.mode === 'enforce';
  const tags: Record<string, TagValue[]> = {
    Status: [
      blocking
        ? { label: 'Denied', level: 'error' }
        : kind === 'violation'
          ? { label: `Reported (${decision.mode} mode)`, level: 'warning' }
          : { label: 'Warning', level: 'warning' },
    ],
    Severity: [kind === 'violation' ? { label: 'High', level: 'error' } : { label: 'Medium', level: 'warning' }],
    Code: [{ label: f.code }],
    Version: [{ label: `entitlegate ${decision.provenance.version}` }],
  };
  if (f.product) tags.Product = [{ label: f.product }];
  if (f.entitlement) tags.Entitlement = [{ label: f.entitlement }];
  return {
    type: 'task-result-outcomes',
    attributes: {
      'outcome-id': `entitlegate-${kind}-${i + 1}-${f.code}${f.product ? `-${f.product}` : ''}`,
      description: oneLine(`${f.code}${f.product ? ` ${f.product}` : ''}: ${f.message}`, 200),
      body: findingMarkdown(f, kind, product),
      tags,
    },
  };
}

function findingMarkdown(f: Finding, kind: 'violation' | 'warning', p: ProductOutcome | undefined): string {
  const lines = [`### ${kind === 'violation' ? 'Violation' : 'Warning'} \`${f.code}\``, '', mdEscape(f.message), ''];
  if (f.product) lines.push(`- **Product:** \`${f.product}\``);
  if (f.entitlement) lines.push(`- **Entitlement:** \`${f.entitlement}\``);
  if (p) {
    lines.push('', `| metric | capacity | in use | requested | projected | peak |`, '| --- | ---: | ---: | ---: | ---: | ---: |');
    lines.push(`| ${p.metric} | ${p.capacity} | ${p.used} | ${p.requested} | ${p.projected} | ${p.peak} |`);
  }
  if (f.resources.length > 0) {
    const shown = f.resources.slice(0, 100);
    lines.push('', '**Resources:**', '', ...shown.map((r) => `- \`${r.replaceAll('`', "'")}\``));
    if (f.resources.length > shown.length) lines.push(`- … and ${f.resources.length - shown.length} more`);
  }
  return lines.join('\n');
}

/**
 * A task result whose message starts `entitlegate <version>`: without the
 * outcomes capability (Terraform Enterprise, older agents) the message is all
 * HCP Terraform shows, and the outcomes' Version tag is not there to tell
 * which entitlegate decided.
 */
export function taskResult(status: TaskStatus, message: string): TaskResult {
  return { data: { type: 'task-results', attributes: { status, message: oneLine(`entitlegate ${VERSION} ${message}`, MESSAGE_MAX) } } };
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function mdEscape(s: string): string {
  return s.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
}
