// CDK for Terraform output (`cdktf synth` → cdktf.out/) → claims. There is no
// plan here, only the desired configuration, so every resource is a create of
// its whole desired state: the claim asks for what the stack would run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EntitlegateError, inputError } from '../../engine/errors.ts';
import type { Claim, Scope } from '../../engine/types.ts';
import { compileAdapterConfig, evaluate, type TerraformAdapterConfig } from '../terraform/claims.ts';
import { describeJsonError } from '../../engine/json-position.ts';
import { preview, previewText } from '../../engine/preview.ts';
import { mergeScope } from '../terraform/scope.ts';

export interface CdktfClaimOptions {
  /** Scope from the caller's flags; wins over the stack's provider region. */
  scope?: Scope;
}

/** The `cdk.tf.json` of one synthesized stack (the parts read here). */
export interface CdkTfJson {
  provider?: Record<string, unknown>;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
}

export interface CdktfStack {
  name: string;
  /** Path of its cdk.tf.json. */
  file: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True for a `cdktf.out` folder: manifest.json naming stacks, or stacks/<name>/cdk.tf.json. */
export function isCdktfOut(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  const manifest = join(dir, 'manifest.json');
  // Regular files only: a FIFO named manifest.json would block detection itself.
  if (existsSync(manifest) && statSync(manifest).isFile()) {
    try {
      const m: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
      if (isObject(m) && isObject(m.stacks)) return true;
    } catch {
      // A broken manifest beside stacks/ is still a cdktf.out the reader will complain about.
    }
  }
  return stackFilesFromFolders(dir).length > 0;
}

function stackFilesFromFolders(dir: string): CdktfStack[] {
  const stacksDir = join(dir, 'stacks');
  if (!existsSync(stacksDir)) return [];
  return readdirSync(stacksDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(stacksDir, d.name, 'cdk.tf.json')))
    .map((d) => ({ name: d.name, file: join(stacksDir, d.name, 'cdk.tf.json') }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

function readJson(file: string, shown: string): unknown {
  let text: string;
  try {
    // A FIFO or device under the folder would block the read or never end it.
    if (!statSync(file).isFile()) throw inputError({ file: shown, message: 'is not a regular file' }, 'EG_ERR_FILE_NOT_FOUND');
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof EntitlegateError) throw err;
    throw inputError({ file: shown, message: `cannot read the file: ${(err as Error).message}` }, 'EG_ERR_FILE_NOT_FOUND');
  }
  // JSON.parse refuses a byte-order mark, which some editors and tools write.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw inputError({ file: shown, ...describeJsonError(text, err) });
  }
}

/** The stacks of a cdktf.out folder, from manifest.json (stacks/*\/cdk.tf.json without one). */
export function cdktfStacks(dir: string): CdktfStack[] {
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) return stackFilesFromFolders(dir);
  const manifest = readJson(manifestFile, manifestFile);
  if (!isObject(manifest) || !isObject(manifest.stacks)) {
    throw inputError({ file: manifestFile, message: 'not a cdktf manifest: expected "stacks" naming each synthesized stack' });
  }
  return Object.entries(manifest.stacks).map(([key, s]) => {
    const stack = isObject(s) ? s : {};
    const name = typeof stack.name === 'string' ? stack.name : key;
    const path = typeof stack.synthesizedStackPath === 'string' ? stack.synthesizedStackPath : join('stacks', name, 'cdk.tf.json');
    return { name, file: join(dir, path) };
  });
}

/** Claims of every stack in a cdktf.out folder. `file` in each claim is relative to the working directory. */
export function claimsFromCdktfOut(dir: string, config: TerraformAdapterConfig, opts: CdktfClaimOptions = {}): Claim[] {
  const claims: Claim[] = [];
  for (const stack of cdktfStacks(dir)) {
    const shown = relative(process.cwd(), stack.file) || stack.file;
    const json = readJson(stack.file, shown);
    if (!isObject(json)) throw inputError({ file: shown, line: 1, col: 1, message: 'not a cdk.tf.json: expected an object' });
    claims.push(...claimsFromCdkTfJson(json as CdkTfJson, config, { ...opts, file: shown }));
  }
  return claims;
}

/** A value cdktf left as a Terraform expression ("${aws_instance.x.id}") is known only at plan time. */
const isExpression = (v: unknown): boolean => typeof v === 'string' && v.includes('${');

/** An `after_unknown`-shaped tree marking expressions, so the plan adapter's matchers can be reused. */
function unknownTree(v: unknown): unknown {
  if (isExpression(v)) return true;
  if (Array.isArray(v)) return v.map(unknownTree);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '//') out[k] = unknownTree(x);
    return out;
  }
  return false;
}

/** How many instances a resource block makes: `count`, `for_each`, or one. */
function instances(block: Record<string, unknown>): { n: number } | { n: null; reason: string } {
  const { count, for_each: forEach } = block;
  if (count !== undefined) {
    if (typeof count === 'number' && Number.isInteger(count) && count >= 0) return { n: count };
    return { n: null, reason: `count is ${typeof count === 'string' ? previewText(count) : preview(count)}, known only at plan time` };
  }
  if (forEach !== undefined) {
    if (Array.isArray(forEach)) return { n: new Set(forEach.map((x) => JSON.stringify(x))).size };
    if (isObject(forEach)) return { n: Object.keys(forEach).length };
    return {
      n: null,
      reason: `for_each is ${typeof forEach === 'string' ? previewText(forEach) : preview(forEach)}, known only at plan time`,
    };
  }
  return { n: 1 };
}

/** provider.aws = [{ region }, { alias: "west", region }] → "aws" / "aws.west" → region. */
function providerRegions(provider: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!isObject(provider)) return out;
  for (const [name, configs] of Object.entries(provider)) {
    for (const pc of Array.isArray(configs) ? configs : [configs]) {
      if (!isObject(pc) || typeof pc.region !== 'string' || isExpression(pc.region)) continue;
      out.set(typeof pc.alias === 'string' ? `${name}.${pc.alias}` : name, pc.region);
    }
  }
  return out;
}

/** Claims of one synthesized stack: each matched resource is a create of its desired state. */
export function claimsFromCdkTfJson(
  json: CdkTfJson,
  config: TerraformAdapterConfig,
  opts: CdktfClaimOptions & { file?: string } = {},
): Claim[] {
  const { index, table } = compileAdapterConfig(config);
  const claims: Claim[] = [];
  if (!isObject(json.resource) || index.size === 0) return claims;
  const regions = providerRegions(json.provider);
  for (const [type, blocks] of Object.entries(json.resource)) {
    const products = index.get(type);
    if (!products || !isObject(blocks)) continue;
    for (const [logicalId, block] of Object.entries(blocks)) {
      if (!isObject(block)) continue;
      const meta = isObject(block['//']) && isObject(block['//'].metadata) ? block['//'].metadata : {};
      const path = typeof meta.path === 'string' ? meta.path : `${type}.${logicalId}`;
      const providerKey =
        typeof block.provider === 'string' && !isExpression(block.provider) ? block.provider : (type.split('_')[0] ?? type);
      const region = typeof block.region === 'string' && !isExpression(block.region) ? block.region : regions.get(providerKey);
      const unknown = unknownTree(block);
      const count = instances(block);
      for (const pm of products) {
        const side = evaluate(pm, block, unknown, table);
        if (side.kind === 'none') continue;
        const claim: Claim = { product: pm.product, quantity: null, scope: mergeScope(region ? { region } : {}, opts.scope) };
        if (side.result.quantity === null) {
          claim.unknownReason = side.result.reason;
          claim.remedy = side.result.remedy;
        } else if (count.n === null) {
          claim.unknownReason = count.reason;
          claim.remedy = 'check the plan instead (terraform show -json), where count and for_each are known';
        } else {
          claim.quantity = side.result.quantity * count.n;
          claim.peak = claim.quantity;
          if (claim.quantity === 0) continue;
        }
        claim.resource = { kind: type, name: logicalId, address: path };
        if (opts.file) claim.resource.file = opts.file;
        claims.push(claim);
      }
    }
  }
  return claims;
}
