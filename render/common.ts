// Small helpers shared by the renderers.
import type { Decision, Finding } from '../engine/types.ts';

export function fmtNumber(n: number | null): string {
  if (n === null) return '—';
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

export function fmtPercent(u: number | null): string {
  return u === null ? '—' : `${Math.round(u * 100)}%`;
}

/** Where each resource of a decision was declared, for "file:line" pointers. */
export function locations(decision: Decision): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of decision.claims) {
    const r = c.resource;
    if (!r?.file) continue;
    const id = r.address ?? (r.namespace ? `${r.kind}/${r.namespace}/${r.name}` : `${r.kind}/${r.name}`);
    if (!out.has(id)) out.set(id, r.line ? `${r.file}:${r.line}` : r.file);
  }
  return out;
}

export function headline(decision: Decision): string {
  const v = decision.violations.length;
  const w = decision.warnings.length;
  const verdict = decision.allowed ? (v ? 'ALLOWED (warn mode: violations reported, not enforced)' : 'ALLOWED') : 'BLOCKED';
  return `${verdict} — ${v} violation${v === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}

export function findingTitle(f: Finding): string {
  const on = [f.product, f.entitlement && `(${f.entitlement})`].filter(Boolean).join(' ');
  return on ? `${f.code} ${on}` : f.code;
}
