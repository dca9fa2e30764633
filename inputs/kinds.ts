// The kinds of input `check` reads, each handed to its adapter. Order
// matters: the first kind whose detect() accepts an input reads it.
import { claimsFromText, isClaimsDocument } from '../adapters/claims/parse.ts';
import { claimsFromCdktfOut, isCdktfOut } from '../adapters/cdktf/index.ts';
// Module by module, not the adapter's index: the index also exports the
// informer-backed Inventory, which would load @kubernetes/client-node (about
// half a second and 85 MB) on every `check`.
import { admissionRequestOf, claimsFromAdmission } from '../adapters/kubernetes/admission.ts';
import { claimsFromObjects } from '../adapters/kubernetes/claims.ts';
import { isAdmissionReview, isKubernetesObject, parseKubernetes } from '../adapters/kubernetes/parse.ts';
import { claimsFromPlanJson, claimsFromPlanValue, isTerraformPlan, looksLikeTerraformPlanText } from '../adapters/terraform/index.ts';
import { inputError } from '../engine/errors.ts';
import type { FolderKind, InputContext, InputKind } from './read.ts';

function kubernetesOptions(ctx: InputContext) {
  const { environment, cluster, namespace, account, region } = ctx.scope;
  return { products: ctx.config.products, settings: ctx.config.kubernetes, environment, cluster, namespace, account, region };
}

const K8S_YAML = /^(apiVersion|kind):/m;

export const INPUT_KINDS: InputKind[] = [
  {
    name: 'claims',
    detect: (_input, json) => isClaimsDocument(json),
    claims: (input, _json, ctx) =>
      claimsFromText(input.file, input.text, { products: new Set(ctx.config.products.map((p) => p.id)), scope: ctx.scope }),
  },
  {
    name: 'terraform-plan',
    detect: (input, json) => (json !== undefined ? isTerraformPlan(json) : looksLikeTerraformPlanText(input.text)),
    claims: (input, json, ctx) =>
      json !== undefined
        ? claimsFromPlanValue(json, ctx.config, { scope: ctx.scope, file: input.file, text: input.text })
        : claimsFromPlanJson(input.text, ctx.config, { scope: ctx.scope, file: input.file }),
  },
  {
    name: 'admission-review',
    detect: (_input, json) => isAdmissionReview(json),
    claims: (input, json, ctx) => {
      const req = admissionRequestOf(json, input.file);
      return claimsFromAdmission(req, kubernetesOptions(ctx)).map((c) => ({ ...c, resource: { ...c.resource!, file: input.file } }));
    },
  },
  {
    name: 'kubernetes',
    detect: (input, json) => (json !== undefined ? isKubernetesObject(json) : K8S_YAML.test(input.text)),
    claims: (input, _json, ctx) => {
      const objects = parseKubernetes(input.text, input.file);
      const stray = objects.find((o) => !isKubernetesObject(o.object));
      if (stray) throw inputError({ file: input.file, line: stray.line, message: 'not a Kubernetes object (no apiVersion and kind)' });
      return claimsFromObjects(objects, kubernetesOptions(ctx));
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
