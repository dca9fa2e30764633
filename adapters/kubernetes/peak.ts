// The transient extra a change needs while Kubernetes moves from the old
// state to the new one. Returned as a delta against the old total, never
// below max(net, 0), so the engine can check "used + peak" against capacity.
import { kindOf, rec, spec, str } from './objects.ts';
import type { Amount } from './quantity.ts';
import { templateObject } from './workload.ts';

/**
 * Extra pods a rolling update may add: an int, or a percent of `replicas`
 * rounded up as the Deployment and DaemonSet controllers do for maxSurge.
 * A value that is neither (an unrendered template, a fraction) is read as the
 * default, not as no surge: the API server would refuse it, and reading it as
 * 0 would hide the peak.
 */
export function resolveSurge(value: unknown, replicas: number, fallback: number | string): number {
  const parse = (v: unknown): number | undefined => {
    if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
    const percent = typeof v === 'string' ? /^\s*(\d+)\s*%\s*$/.exec(v) : null;
    if (percent) return Math.ceil((replicas * Number(percent[1])) / 100);
    return typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
  };
  if (value === undefined || value === null) return parse(fallback) ?? 0;
  return parse(value) ?? parse(fallback) ?? 0;
}

/** Order-insensitive structural equality, for "did the pod template change?". */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const r = rec(v);
  if (r) {
    return `{${Object.keys(r)
      .filter((k) => r[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(r[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function templateChanged(newObj: unknown, oldObj: unknown): boolean {
  return canonical(templateObject(newObj)) !== canonical(templateObject(oldObj));
}

/**
 * Largest exact total while `oldPods` pods at `oldPer` and `newPods` at
 * `newPer` coexist under a ceiling of `limit` pods: the controller can be at
 * any mix on the way, so the costlier pods are assumed to be up first.
 */
function worstMix(oldPods: number, oldPer: number, newPods: number, newPer: number, limit: number): number {
  if (newPer >= oldPer) {
    const b = Math.min(newPods, limit);
    return b * newPer + Math.min(oldPods, limit - b) * oldPer;
  }
  const a = Math.min(oldPods, limit);
  return a * oldPer + Math.min(newPods, limit - a) * newPer;
}

export function peakOf(newObj: unknown, oldObj: unknown, n: Amount | undefined, o: Amount | undefined, net: number): number {
  const base = Math.max(net, 0);
  if (n?.fixed || o?.fixed || !newObj) return base;
  const unit = n?.unit ?? o?.unit ?? 1;
  const newPods = n?.pods ?? 0;
  const newPer = n?.perPod ?? 0;
  const oldPods = o?.pods ?? 0;
  const oldPer = o?.perPod ?? 0;
  if ((n && (n.pods === null || n.perPod === null)) || (o && (o.pods === null || o.perPod === null))) return base;
  const oldTotal = o?.quantity ?? 0;
  const s = spec(newObj);
  let exact: number | undefined;

  switch (kindOf(newObj)) {
    case 'Deployment': {
      // RollingUpdate (the default) keeps up to replicas + maxSurge pods, old
      // and new mixed; Recreate stops the old pods before starting new ones.
      const strategy = rec(s.strategy);
      if (!oldObj || str(strategy?.type) === 'Recreate' || !templateChanged(newObj, oldObj)) break;
      const surge = resolveSurge(rec(strategy?.rollingUpdate)?.maxSurge, newPods, '25%');
      exact = worstMix(oldPods, oldPer, newPods, newPer, Math.max(oldPods, newPods + surge));
      break;
    }
    case 'DaemonSet': {
      // DaemonSets surge only when maxSurge is set (default 0): then a node
      // briefly runs its old and its new pod.
      const strategy = rec(s.updateStrategy);
      if (!oldObj || str(strategy?.type) === 'OnDelete' || !templateChanged(newObj, oldObj)) break;
      const surge = resolveSurge(rec(strategy?.rollingUpdate)?.maxSurge, newPods, 0);
      exact = worstMix(oldPods, oldPer, newPods, newPer, Math.max(oldPods, newPods + surge));
      break;
    }
    case 'CronJob': {
      // concurrencyPolicy Allow (the default) starts the next run even while
      // the previous one is still going. The steady state counts one run (see
      // workload.ts); the overlap of two runs is the peak.
      const policy = str(s.concurrencyPolicy) ?? 'Allow';
      if (policy === 'Forbid' || policy === 'Replace') break;
      exact = Math.max(2 * newPods * newPer, oldPods * oldPer + newPods * newPer);
      break;
    }
    // StatefulSets replace one pod at a time (delete, then recreate), and
    // ReplicaSets, ReplicationControllers and Jobs never replace running pods
    // on a template change, so none of them exceeds the larger of old and new.
    default:
      break;
  }
  if (exact === undefined) return base;
  return Math.max(Math.ceil(exact / unit) - oldTotal, base);
}
