// How much of a product one workload uses (accounting rule 4 of docs/architecture.md).
// Whole units per claim; exact integer millicores underneath.
import type { Metric } from '../../engine/types.ts';
import { preview } from '../../engine/preview.ts';
import { cpuMillis, wholeCores } from './cpu.ts';
import { PRODUCT_ANNOTATION, QUANTITY_ANNOTATION } from './annotations.ts';
import type { ProductMatch } from './match.ts';
import { rec, spec, type Obj } from './objects.ts';
import { podsOf, podTemplate, type ContainerInfo, type PodCountOptions, type PodTemplateInfo } from './workload.ts';

export interface Amount {
  /** Whole units (vCPU rounded up); null when unknown. */
  quantity: number | null;
  unknownReason?: string;
  pods: number | null;
  /**
   * Exact units per pod: millicores for vcpu, 1 for instances; null when fixed
   * or unknown — except with no pods, where an unknown per-pod amount is 0
   * (nothing runs, so nothing is used).
   */
  perPod: number | null;
  /** Exact units per whole unit: 1000 for vcpu, else 1. */
  unit: number;
  /** Set by the entitlegate.io/quantity annotation, independent of pods. */
  fixed: boolean;
  /** What determined the amount; two equal bases give equal quantities even when unknown. */
  basis: string;
}

export interface QuantityOptions extends PodCountOptions {
  /**
   * The object's namespace is one the config trusts
   * (kubernetes.quantityTrustedNamespaces): its quantity annotation may lower
   * what is measured, not only fill it in or raise it.
   */
  annotationMayLower?: boolean;
}

function amount(a: Omit<Amount, 'basis'>, inputs?: unknown): Amount {
  return { ...a, basis: JSON.stringify([a.pods, a.perPod, a.fixed ? a.quantity : null, a.unknownReason ?? null, inputs ?? null]) };
}

/** `inputs`: what else the unknown amount depends on, so a change to it is not taken for a no-op. */
function unknown(reason: string, pods: number | null, unit = 1, inputs?: unknown): Amount {
  return amount({ quantity: null, unknownReason: reason, pods, perPod: null, unit, fixed: false }, inputs);
}

function licensedCpu(t: PodTemplateInfo, match: ProductMatch): unknown[] {
  return [
    t.containers.filter((_, i) => match.containers[i]).map((c) => [c.name, c.cpu]),
    t.initContainers.filter((_, i) => match.initContainers[i]).map((c) => [c.name, c.cpu, c.sidecar]),
    t.podCpu,
  ];
}

/** A whole non-negative number as an annotation writes it ("3"); undefined for anything else. */
function wholeNumber(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The amount of the matched product that a workload uses. `metric` is the
 * product's metric, undefined when the product is not in the config;
 * `template` is podTemplate(object) when the caller has it already.
 *
 * The `entitlegate.io/quantity` annotation (accounting rule 4) fills in an
 * amount that cannot be measured and raises one that can; it lowers a
 * measured amount only where the config trusts the namespace, because
 * whoever writes the workload writes its annotations too. An annotation that
 * is not a whole non-negative number never hides a measured amount.
 */
export function amountFor(
  object: unknown,
  match: ProductMatch,
  metric: Metric | undefined,
  opts: QuantityOptions = {},
  template?: PodTemplateInfo,
): Amount {
  const t = template ?? podTemplate(object);
  const measured = measuredAmount(object, match, metric, opts, t);
  const raw = t ? (t.workloadAnnotations[QUANTITY_ANNOTATION] ?? t.annotations[QUANTITY_ANNOTATION]) : undefined;
  if (raw === undefined) return measured;
  const stated = wholeNumber(raw);
  if (stated === undefined) {
    if (measured.quantity !== null) return measured;
    return unknown(`the ${QUANTITY_ANNOTATION} annotation ${preview(raw)} is not a whole non-negative number`, measured.pods);
  }
  if (measured.quantity !== null && stated <= measured.quantity && !(opts.annotationMayLower && stated < measured.quantity))
    return measured;
  return amount({ quantity: stated, pods: measured.pods, perPod: null, unit: 1, fixed: true });
}

function measuredAmount(
  object: unknown,
  match: ProductMatch,
  metric: Metric | undefined,
  opts: QuantityOptions,
  t: PodTemplateInfo | undefined,
): Amount {
  const { pods, reason: podsReason } = podsOf(object, opts);
  if (!metric)
    return unknown(`product "${match.productId}" is named by the ${PRODUCT_ANNOTATION} annotation but is not in the config`, pods);
  if (!t) return unknown('the object has no pod template', pods);

  switch (metric) {
    case 'instances':
      if (pods === null) return unknown(podsReason ?? 'unknown pod count', null);
      return amount({ quantity: pods, pods, perPod: 1, unit: 1, fixed: false });
    case 'vcpu': {
      const cpu = podCpuMillis(t, match);
      // No pods use no CPU, whatever one pod would need (a Deployment scaled
      // to zero, a DaemonSet on no nodes).
      if (pods === 0) return amount({ quantity: 0, pods: 0, perPod: 'reason' in cpu ? 0 : cpu.millis, unit: 1000, fixed: false });
      if ('reason' in cpu) return unknown(cpu.reason, pods, 1000, licensedCpu(t, match));
      if (pods === null) {
        return amount({ quantity: null, unknownReason: podsReason, pods: null, perPod: cpu.millis, unit: 1000, fixed: false });
      }
      return amount({ quantity: wholeCores(cpu.millis * pods), pods, perPod: cpu.millis, unit: 1000, fixed: false });
    }
    default:
      return unknown(
        `the ${metric} of ${match.productId} cannot be read from Kubernetes objects; set the ${QUANTITY_ANNOTATION} annotation`,
        pods,
      );
  }
}

/**
 * Millicores one pod uses for the product: the licensed containers' CPU limits
 * (requests where no limit), with init containers by Kubernetes' effective
 * request rule — the pod needs the larger of the app containers plus sidecars
 * and the largest init step (each init container runs with the sidecars
 * started before it). Unlicensed containers count as zero.
 */
export function podCpuMillis(t: PodTemplateInfo, match: ProductMatch): { millis: number } | { reason: string } {
  const missing: string[] = [];
  const invalid: string[] = [];
  let licensedCount = 0;
  const value = (c: ContainerInfo, licensed: boolean | undefined): number => {
    if (!licensed) return 0;
    licensedCount++;
    if (c.cpu === undefined) {
      missing.push(c.name);
      return 0;
    }
    const m = cpuMillis(c.cpu);
    // A CPU limit of 0 sets no CFS quota: the container may use every core of
    // its node, so zero is no bound, not zero use.
    if (m === undefined || m === 0) {
      invalid.push(`${c.name} (${c.cpuField} ${preview(c.cpu)}${m === 0 ? ': zero bounds nothing' : ''})`);
      return 0;
    }
    return m;
  };
  let app = 0;
  for (const [i, c] of t.containers.entries()) app += value(c, match.containers[i]);
  let sidecars = 0;
  let maxInit = 0;
  t.initContainers.forEach((c, i) => {
    const v = value(c, match.initContainers[i]);
    if (c.sidecar) {
      sidecars += v;
      maxInit = Math.max(maxInit, sidecars);
    } else {
      maxInit = Math.max(maxInit, v + sidecars);
    }
  });
  if (invalid.length) return { reason: `invalid CPU quantity in container ${invalid.join(', ')}` };
  if (licensedCount === 0) return { reason: `none of the containers licensed for ${match.productId} is in the pod` };
  if (missing.length) {
    // A pod-level limit bounds every container in the pod, the licensed ones included.
    const pod = t.podCpu === undefined ? undefined : cpuMillis(t.podCpu);
    if (pod !== undefined && pod > 0) return { millis: pod };
    return { reason: `container ${missing.join(', ')} of ${match.productId} has no CPU limit or request` };
  }
  return { millis: Math.max(app + sidecars, maxInit) };
}

/**
 * The parent workload as the scale subresource would leave it: an
 * `autoscaling/v1` Scale carries only the replica count, the parent carries
 * the pod template that says what each replica costs.
 */
export function withScale(parent: unknown, scale: unknown): Obj | undefined {
  const p = rec(parent);
  if (!p) return undefined;
  // Whatever the Scale says is applied, so a replica count that is not one
  // makes the amount unknown (podsOf) instead of leaving the parent's.
  const replicas = spec(scale).replicas;
  if (replicas === undefined) return p;
  return { ...p, spec: { ...spec(p), replicas } };
}
