// The kinds of input `check` reads, each handed to its adapter. Order
// matters: the first kind whose detect() accepts an input reads it.
import { claimsFromText, isClaimsDocument } from '../adapters/claims/parse.ts';
import { claimsFromCdktfOut, isCdktfOut } from '../adapters/cdktf/index.ts';
import {
  admissionRequestOf,
  claimsFromAdmission,
  claimsFromObjects,
  isAdmissionReview,
  isKubernetesObject,
  looksLikeKubernetesText,
  parseKubernetes,
  type SourcedObject,
} from '../adapters/kubernetes/index.ts';
import {
  claimsFromPlanJson,
  claimsFromPlanValue,
  isTerraformPlan,
  isTerraformState,
  looksLikeTerraformPlanText,
} from '../adapters/terraform/index.ts';
import { inputError } from '../engine/errors.ts';
import type { FolderKind, InputContext, InputKind, TextInput } from './read.ts';

function kubernetesOptions(ctx: InputContext) {
  const { environment, cluster, namespace, account, region } = ctx.scope;
  const { products, kubernetes: settings } = ctx.config;
  return { products, settings, environment, cluster, namespace, account, region, onWarning: ctx.warn };
}

// The objects of a YAML (or multi-document) input that holds an
// AdmissionReview, parsed once for detect() and claims(). Read as plain
// Kubernetes objects, a review is an object of no workload kind: its pods
// would pass uncounted.
const reviewObjects = new WeakMap<TextInput, SourcedObject[]>();

function holdsAdmissionReview(input: TextInput, json: unknown): boolean {
  if (json !== undefined && isAdmissionReview(json)) return true;
  // Cheap first: only a text that names the kind is parsed here.
  if (!input.text.includes('AdmissionReview')) return false;
  let objects: SourcedObject[];
  try {
    objects = parseKubernetes(input.text, input.file);
  } catch {
    return false; // the Kubernetes reader reports the problem with its line
  }
  if (!objects.some((o) => isAdmissionReview(o.object))) return false;
  reviewObjects.set(input, objects);
  return true;
}

function admissionReviewOf(input: TextInput, json: unknown): unknown {
  if (json !== undefined && isAdmissionReview(json)) return json;
  const objects = reviewObjects.get(input) ?? [];
  if (objects.length !== 1) {
    const review = objects.find((o) => isAdmissionReview(o.object));
    throw inputError({
      file: input.file,
      line: review?.line,
      message: `an AdmissionReview must be the only object of its input; this one holds ${objects.length} objects`,
    });
  }
  return objects[0]!.object;
}

export const INPUT_KINDS: InputKind[] = [
  {
    name: 'claims',
    detect: (_input, json) => isClaimsDocument(json),
    claims: (input, _json, ctx) =>
      claimsFromText(input.file, input.text, { products: new Map(ctx.config.products.map((p) => [p.id, p.metric])), scope: ctx.scope }),
  },
  {
    name: 'terraform-plan',
    // State is taken here only to be refused with a message of its own. No
    // plan has a top-level apiVersion and kind: an object that has both is
    // Kubernetes, whatever plan-like keys were added to slip it past as an
    // empty plan.
    detect: (input, json) =>
      json !== undefined
        ? !isKubernetesObject(json) && (isTerraformPlan(json) || isTerraformState(json))
        : looksLikeTerraformPlanText(input.text),
    claims: (input, json, ctx) =>
      json !== undefined
        ? claimsFromPlanValue(json, ctx.config, { scope: ctx.scope, file: input.file, text: input.text })
        : claimsFromPlanJson(input.text, ctx.config, { scope: ctx.scope, file: input.file }),
  },
  {
    name: 'admission-review',
    detect: holdsAdmissionReview,
    claims: (input, json, ctx) => {
      const req = admissionRequestOf(admissionReviewOf(input, json), input.file);
      return claimsFromAdmission(req, kubernetesOptions(ctx)).map((c) => ({ ...c, resource: { ...c.resource!, file: input.file } }));
    },
  },
  {
    name: 'kubernetes',
    detect: (input, json) => (json !== undefined ? isKubernetesObject(json) : looksLikeKubernetesText(input.text)),
    claims: (input, _json, ctx) => {
      const objects = parseKubernetes(input.text, input.file);
      const stray = objects.find((o) => !isKubernetesObject(o.object));
      if (stray) throw inputError({ file: input.file, line: stray.line, message: 'not a Kubernetes object (no apiVersion and kind)' });
      // The other manifests of the run are applied with this one: their
      // autoscalers size its workloads (an HPA in hpa.yaml, minReplicas 30,
      // beside a Deployment of replicas 1 in deploy.yaml runs 30 pods).
      return {
        share: objects,
        claims: (shares) => claimsFromObjects(objects, { ...kubernetesOptions(ctx), alongside: (shares as SourcedObject[][]).flat() }),
      };
    },
  },
];

export const FOLDER_KINDS: FolderKind[] = [
  {
    name: 'cdktf-out',
    detect: isCdktfOut,
    claims: (dir, ctx) => claimsFromCdktfOut(dir, ctx.config, { scope: ctx.scope }),
  },
];
