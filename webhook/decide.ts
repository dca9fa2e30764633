// One admission, start to finish, without HTTP: exemptions, claims from the
// Kubernetes adapter, the engine's decision with the reservations, the
// failure policy, and the AdmissionResponse the kube-apiserver reads.
import {
  carriesLicenceUse,
  claimsFromAdmission,
  isScaleAdmission,
  scaleParentKind,
  type AdmissionRequest,
  type AdmissionResponse,
} from '../adapters/kubernetes/admission.ts';
import { EntitlegateError } from '../engine/errors.ts';
import { resourceId, type Claim, type Decision, type Finding } from '../engine/types.ts';
import { failureText, type FailedStep } from './failure.ts';
import type { Gate } from './gate.ts';
import type { SharedReservations } from './shared-reservations.ts';

/** Kubernetes shows warnings to kubectl users one per line; keep them short. */
export const WARNING_MAX = 120;

/** Result label of a decision (metrics, audit annotation `decision`). */
export type AdmissionResult = 'allowed' | 'denied' | 'exempt' | 'skipped' | 'error-denied' | 'error-allowed';

export interface AdmissionOutcome {
  response: AdmissionResponse;
  result: AdmissionResult;
  /** First violation code, the error code, or NONE — for the metrics label. */
  code: string;
  decision?: Decision;
  claims: Claim[];
  error?: string;
}

export function shorten(text: string, max = WARNING_MAX): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

function findingWarning(f: Finding): string {
  return shorten(`${f.code}: ${f.message}`);
}

export interface AdmitOptions {
  /** Refuse to decide (failure policy applies): the cluster inventory has not synced yet. */
  notReady?: string;
}

export type Prepared = { outcome: AdmissionOutcome } | { claims: Claim[]; warnings: string[] };

/** Everything before the engine: exemptions, skipped subresources, claims. Never throws. */
export function prepare(gate: Gate, req: AdmissionRequest, opts: AdmitOptions): Prepared {
  const settings = gate.config.kubernetes;
  const base = (result: AdmissionResult, extra: Partial<AdmissionResponse> = {}): AdmissionResponse => ({
    uid: req.uid,
    allowed: true,
    ...extra,
    auditAnnotations: { decision: result, ...extra.auditAnnotations },
  });
  if (req.namespace && settings.exemptNamespaces.includes(req.namespace)) {
    return { outcome: { response: base('exempt'), result: 'exempt', code: 'NONE', claims: [] } };
  }
  if (!carriesLicenceUse(req)) {
    return { outcome: { response: base('skipped'), result: 'skipped', code: 'NONE', claims: [] } };
  }

  let claims: Claim[] = [];
  const warnings: string[] = [];
  let step: FailedStep = 'reading the cluster inventory';
  try {
    if (opts.notReady) throw new EntitlegateError('EG_ERR_POLICY_EVAL', opts.notReady);
    const claimOpts = gate.claimOptions();
    if (isScaleAdmission(req)) {
      const kind = scaleParentKind(req);
      const parent = kind && req.name ? gate.inventory?.workload(kind, req.namespace, req.name) : undefined;
      if (parent) claimOpts.parent = parent;
      else {
        const why = gate.inventory ? 'its workload is not in the cluster inventory' : 'there is no cluster inventory (snapshot mode)';
        warnings.push(
          shorten(`entitlegate: scale of ${kind ?? req.resource.resource}/${req.namespace ?? ''}/${req.name ?? ''} not sized: ${why}`),
        );
      }
    }
    step = 'reading the object';
    claims = claimsFromAdmission(req, claimOpts);
    if (!claims.length) {
      return { outcome: { response: base('allowed', warnings.length ? { warnings } : {}), result: 'allowed', code: 'NONE', claims } };
    }
    return { claims, warnings };
  } catch (err) {
    return { outcome: failure(gate, req, claims, err, step) };
  }
}

/** Decides one admission with this replica's in-memory reservations. Never throws: an evaluation error goes through the failure policy. */
export function admit(gate: Gate, req: AdmissionRequest, opts: AdmitOptions = {}): AdmissionOutcome {
  const prepared = prepare(gate, req, opts);
  if ('outcome' in prepared) return prepared.outcome;
  const { claims, warnings } = prepared;
  try {
    // decide and hold run back to back with no await in between: see reservations.ts.
    const decision = gate.engine.decide(claims, { now: gate.clock(), reservations: gate.reservations.active() });
    if (decision.allowed && !req.dryRun) gate.reservations.hold(resourceId(claims[0]!.resource), claims);
    return render(req, decision, claims, warnings);
  } catch (err) {
    return failure(gate, req, claims, err, 'evaluating the policy');
  }
}

function metaOf(o: unknown): { uid?: string; resourceVersion?: string } {
  const m = (o as { metadata?: { uid?: unknown; resourceVersion?: unknown } } | null | undefined)?.metadata;
  return {
    ...(typeof m?.uid === 'string' && m.uid ? { uid: m.uid } : {}),
    ...(typeof m?.resourceVersion === 'string' && m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

/**
 * Decides one admission with the reservations shared across replicas
 * (shared-reservations.ts): read the products' Leases, decide, write back
 * conditionally, retry on conflict. Never throws: a Lease that cannot be read
 * or written in time goes through the failure policy.
 */
export async function admitShared(
  gate: Gate,
  shared: SharedReservations,
  req: AdmissionRequest,
  opts: AdmitOptions = {},
): Promise<AdmissionOutcome> {
  const prepared = prepare(gate, req, opts);
  if ('outcome' in prepared) return prepared.outcome;
  const { claims, warnings } = prepared;
  try {
    const object = metaOf(req.object);
    const after = req.operation === 'UPDATE' ? metaOf(req.oldObject).resourceVersion : undefined;
    const decision = await shared.admit(
      {
        key: resourceId(claims[0]!.resource),
        admission: req.uid,
        dryRun: !!req.dryRun,
        ...(object.uid ? { uid: object.uid } : {}),
        ...(after ? { after } : {}),
      },
      claims,
      // The engine (and usage) as of each attempt: a reload or inventory refresh between attempts is taken into account.
      (reservations) => gate.engine.decide(claims, { now: gate.clock(), reservations }),
    );
    return render(req, decision, claims, warnings);
  } catch (err) {
    return failure(gate, req, claims, err, 'deciding with the shared reservations');
  }
}

export function render(req: AdmissionRequest, decision: Decision, claims: Claim[], warnings: string[]): AdmissionOutcome {
  // In warn mode violations do not block; the user still has to see them.
  const shown = decision.allowed ? [...decision.violations, ...decision.warnings] : decision.warnings;
  const allWarnings = [...warnings, ...shown.map(findingWarning)];
  const audit: Record<string, string> = {
    decision: decision.allowed ? 'allowed' : 'denied',
    products: decision.products.map((p) => `${p.product}:${p.used}+${p.requested}/${p.capacity}`).join(','),
    policy: decision.provenance.policy,
    config: decision.provenance.config,
  };
  if (decision.violations.length) audit.violations = [...new Set(decision.violations.map((v) => `${v.code}:${v.product ?? ''}`))].join(',');
  if (decision.warnings.length) audit.warnings = [...new Set(decision.warnings.map((w) => w.code))].join(',');
  if (req.dryRun) audit.dryRun = 'true';
  const response: AdmissionResponse = { uid: req.uid, allowed: decision.allowed, auditAnnotations: audit };
  if (!decision.allowed) {
    response.status = { code: 403, reason: 'Forbidden', message: `entitlegate: ${decision.violations.map((v) => v.message).join('; ')}` };
  }
  if (allWarnings.length) response.warnings = allWarnings;
  return {
    response,
    result: decision.allowed ? 'allowed' : 'denied',
    code: decision.violations[0]?.code ?? 'NONE',
    decision,
    claims,
  };
}

/** Failure policy: an evaluation error denies, unless the namespace is configured fail-open. */
export function failure(gate: Gate, req: AdmissionRequest, claims: Claim[], err: unknown, step: FailedStep): AdmissionOutcome {
  const message = failureText(err, step, false);
  const code = err instanceof EntitlegateError ? err.code : 'EG_ERR_INTERNAL';
  const failOpen = !!req.namespace && gate.config.kubernetes.failOpenNamespaces.includes(req.namespace);
  if (failOpen) {
    return {
      response: {
        uid: req.uid,
        allowed: true,
        warnings: [shorten(`entitlegate could not evaluate (admitted: namespace ${req.namespace} is fail-open): ${message}`)],
        auditAnnotations: { decision: 'error-allowed', error: code },
      },
      result: 'error-allowed',
      code,
      claims,
      error: message,
    };
  }
  return {
    response: {
      uid: req.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `entitlegate could not evaluate this change, so it is denied: ${message}` },
      auditAnnotations: { decision: 'error-denied', error: code },
    },
    result: 'error-denied',
    code,
    claims,
    error: message,
  };
}
