// An Aspect for CDK for Terraform: `Aspects.of(stack).add(new EntitlegateAspect({...}))`
// checks the stack's licensed resources at synth and adds error annotations
// (which make `cdktf synth` fail) and warnings to the constructs concerned.
//
// cdktf and constructs are optional peer dependencies: nothing here imports
// them. The aspect talks to the construct tree through the small structural
// types below, which is all the constructs v10 API an aspect needs.
import type { Claim, Finding, Scope } from '../../engine/types.ts';

import type { TerraformAdapterConfig } from '../terraform/claims.ts';
import { claimsFromCdkTfJson, type CdkTfJson } from './synth.ts';

/** The part of a constructs v10 `Node` the aspect uses. */
export interface ConstructNodeLike {
  readonly path: string;
  findAll(): ConstructLike[];
  addMetadata(type: string, data: unknown, options?: { stackTrace?: boolean }): void;
}

export interface ConstructLike {
  readonly node: ConstructNodeLike;
}

/** cdktf's TerraformStack: marked with this symbol, and it renders its cdk.tf.json. */
interface StackLike extends ConstructLike {
  toTerraform(): unknown;
}

// cdktf's own annotation types (cdktf/lib/annotations.ts); "@cdktf/error" fails synth.
export const ANNOTATION_ERROR = '@cdktf/error';
export const ANNOTATION_WARN = '@cdktf/warn';
const STACK_SYMBOL = Symbol.for('cdktf/TerraformStack');

export interface EntitlegateAspectOptions {
  config: TerraformAdapterConfig;
  /** Scope of the stack (environment, account…); wins over provider regions. */
  scope?: Scope;
  /**
   * Decides the stack's claims, synchronously (aspects cannot wait): usually the
   * engine with a loaded policy. Violations become errors, warnings warnings.
   */
  evaluate: (claims: Claim[], stack: string) => { violations: Finding[]; warnings?: Finding[] };
}

export function isTerraformStack(node: unknown): node is StackLike {
  return (
    typeof node === 'object' &&
    node !== null &&
    (node as Record<symbol, unknown>)[STACK_SYMBOL] === true &&
    typeof (node as { toTerraform?: unknown }).toTerraform === 'function'
  );
}

export class EntitlegateAspect {
  readonly #opts: EntitlegateAspectOptions;
  /** Claims of every stack visited so far, for callers that want them. */
  readonly claims: Claim[] = [];

  constructor(opts: EntitlegateAspectOptions) {
    this.#opts = opts;
  }

  /** Called by cdktf for every construct; only stacks are checked, each as a whole. */
  visit(node: ConstructLike): void {
    if (!isTerraformStack(node)) return;
    const json = node.toTerraform() as CdkTfJson;
    const claims = claimsFromCdkTfJson(json, this.#opts.config, this.#opts.scope ? { scope: this.#opts.scope } : {});
    this.claims.push(...claims);
    if (claims.length === 0) return;
    const decision = this.#opts.evaluate(claims, node.node.path);
    const byPath = new Map<string, ConstructLike>();
    for (const c of node.node.findAll()) byPath.set(c.node.path, c);
    const annotate = (type: string, f: Finding): void => {
      const message = `entitlegate ${f.code}${f.product ? ` (${f.product})` : ''}: ${f.message}`;
      const targets = f.resources.map((r) => byPath.get(r)).filter((c): c is ConstructLike => c !== undefined);
      for (const target of targets.length > 0 ? targets : [node]) target.node.addMetadata(type, message, { stackTrace: false });
    };
    for (const v of decision.violations) annotate(ANNOTATION_ERROR, v);
    for (const w of decision.warnings ?? []) annotate(ANNOTATION_WARN, w);
  }
}
