// Which configured products a pod template runs, and which of its containers
// are licensed for each. Recognition only: quantities are in quantity.ts.
import picomatch from 'picomatch';
import type { Product } from './settings.ts';
import { IBM_CHARGED_CONTAINERS, IBM_PRODUCT_ID, PRODUCT_ANNOTATION } from './annotations.ts';
import { imageCandidates, patternForms } from './image-ref.ts';
import { BoundedMemo } from './memo.ts';
import type { ContainerInfo, PodTemplateInfo } from './workload.ts';

export type MatchedBy = 'annotation' | 'ibm' | 'image' | 'label';

export interface ProductMatch {
  productId: string;
  /** Undefined when an annotation names a product the config does not have. */
  product: Product | undefined;
  by: MatchedBy;
  /** Licensed flags, by index, for `containers` and `initContainers`. */
  containers: boolean[];
  initContainers: boolean[];
}

interface Compiled {
  /** Tests one image reference, in any spelling (image-ref.ts). */
  images: ((image: string) => boolean) | undefined;
  /** Images already tested against `images`: a cluster runs the same few images over and over. */
  seen: BoundedMemo<string, boolean>;
  labels: [string, string][];
  containers: Set<string> | undefined;
}

// Compiled once per product object; configs are loaded once and reused for
// every admission, so this keeps a match to a few string compares.
const compiledCache = new WeakMap<Product, Compiled>();

function compiled(p: Product): Compiled {
  let c = compiledCache.get(p);
  if (!c) {
    const k = p.match?.kubernetes;
    const globs = k?.images ?? [];
    c = {
      images: globs.length ? imageMatcher(globs) : undefined,
      seen: new BoundedMemo(),
      labels: Object.entries(k?.labels ?? {}),
      containers: k?.containers?.length ? new Set(k.containers) : undefined,
    };
    compiledCache.set(p, c);
  }
  return c;
}

function imageMatcher(globs: readonly string[]): (image: string) => boolean {
  const forms = globs.map(patternForms);
  const full = picomatch([...new Set(forms.flatMap((f) => f.full))], { dot: true });
  const repository = picomatch([...new Set(forms.flatMap((f) => f.repositories))], { dot: true });
  return (image) => {
    const c = imageCandidates(image);
    return c.full.some((s) => full(s)) || (c.repository !== undefined && repository(c.repository));
  };
}

function imageMatches(c: Compiled, image: string): boolean {
  if (image.trim() === '' || !c.images) return false;
  return c.seen.get(image, c.images);
}

/** The container's own image, or an image volume it mounts, is the product's. */
function runsImage(c: Compiled, x: ContainerInfo): boolean {
  return imageMatches(c, x.image) || x.volumeImages.some((image) => imageMatches(c, image));
}

function ids(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Every product the template runs. A workload may run several (different
 * containers). Containers counted for a product: the ones named by
 * `match.kubernetes.containers` (or IBM's productChargedContainers) when
 * given, with the containers whose image matches always among them; otherwise
 * the containers whose image matches; otherwise, for a match
 * by annotation or label alone, all of them. Image matches win over "all"
 * even when an annotation or label also matches, because an exporter or
 * proxy sidecar beside the licensed container is not the product.
 */
export function matchProducts(t: PodTemplateInfo, products: readonly Product[]): ProductMatch[] {
  const annotations = { ...t.workloadAnnotations, ...t.annotations };
  const labels = { ...t.workloadLabels, ...t.labels };
  const named = new Set([...ids(t.workloadAnnotations[PRODUCT_ANNOTATION]), ...ids(t.annotations[PRODUCT_ANNOTATION])]);
  const ibmId = annotations[IBM_PRODUCT_ID];
  const out: ProductMatch[] = [];
  const all = (list: unknown[]) => list.map(() => true);
  const byName = (set: Set<string>) => ({
    containers: t.containers.map((c) => set.has(c.name)),
    initContainers: t.initContainers.map((c) => set.has(c.name)),
  });

  for (const p of products) {
    const c = compiled(p);
    const imageHits = c.images
      ? {
          containers: t.containers.map((x) => runsImage(c, x)),
          initContainers: t.initContainers.map((x) => runsImage(c, x)),
        }
      : undefined;
    const anyImage = !!imageHits && (imageHits.containers.some(Boolean) || imageHits.initContainers.some(Boolean));
    let by: MatchedBy | undefined;
    if (named.has(p.id)) by = 'annotation';
    else if (ibmId === p.id) by = 'ibm';
    else if (anyImage) by = 'image';
    else if (c.labels.length && c.labels.every(([k, v]) => labels[k] === v)) by = 'label';
    if (!by) continue;

    let licensed: { containers: boolean[]; initContainers: boolean[] };
    const charged = by === 'ibm' ? annotations[IBM_CHARGED_CONTAINERS] : undefined;
    if (charged !== undefined && charged.trim().toLowerCase() !== 'all') licensed = byName(new Set(ids(charged)));
    else if (charged !== undefined) licensed = { containers: all(t.containers), initContainers: all(t.initContainers) };
    else if (c.containers) licensed = byName(c.containers);
    else if (anyImage && imageHits) licensed = imageHits;
    else licensed = { containers: all(t.containers), initContainers: all(t.initContainers) };
    // A container that runs the product's image is licensed whatever a list
    // of names says: IBM's productChargedContainers is written by whoever
    // writes the pod, and naming only a 100m exporter charged a 4-core
    // database as 1 vCPU. Names add containers; they never take one away.
    if (anyImage && imageHits && licensed !== imageHits) {
      licensed = {
        containers: licensed.containers.map((l, i) => l || imageHits.containers[i]!),
        initContainers: licensed.initContainers.map((l, i) => l || imageHits.initContainers[i]!),
      };
    }
    out.push({ productId: p.id, product: p, by, ...licensed });
  }

  // A product named explicitly but missing from the config still yields a
  // claim (with an unknown quantity) so the mistake is reported, not ignored.
  const known = new Set(products.map((p) => p.id));
  for (const id of named) {
    if (!known.has(id))
      out.push({
        productId: id,
        product: undefined,
        by: 'annotation',
        containers: all(t.containers),
        initContainers: all(t.initContainers),
      });
  }
  return out;
}
