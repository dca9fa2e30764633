// The compiled policy: loaded once, data set once per config change,
// evaluated per change.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as opaWasm from '@open-policy-agent/opa-wasm';
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { EntitlegateError } from '../errors.ts';
import { readFileBytes } from '../text-file.ts';
import type { Finding } from '../types.ts';

// The package's ESM entry names only loadPolicy; its default export (the CJS
// module) also has loadPolicySync, which its type declarations list as named.
const { loadPolicySync } = (opaWasm as unknown as { default: typeof opaWasm }).default;

export const ENTRYPOINT = 'entitlegate/decision';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const WASM_PAGE = 65536;
const HEAP_PER_INPUT_BYTE = 24;
const HEAP_SLACK = 1 << 20;

export interface PolicyVerdict {
  allowed: boolean;
  violations: Finding[];
  warnings: Finding[];
}

/** The package's root: where policies/dist lives, from source or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('entitlegate: package root not found');
    dir = up;
  }
  return dir;
}

export function builtinPolicyPath(): string {
  return join(packageRoot(), 'policies', 'dist', 'entitlegate.wasm');
}

export class CompiledPolicy {
  readonly digest: string;
  readonly path: string;
  private readonly wasm: LoadedPolicy;
  private readonly entrypoint: number;
  private reservedHeap = 0;

  /** The module as loaded, so another thread can load the same policy (the embedded ledger's decisions, ledger/thread-decider.ts). */
  readonly bytes: Uint8Array;

  private constructor(path: string, digest: string, wasm: LoadedPolicy, bytes: Uint8Array) {
    this.path = path;
    this.digest = digest;
    this.wasm = wasm;
    this.bytes = bytes;
    this.entrypoint = (wasm.entrypoints as Record<string, number>)[ENTRYPOINT]!;
  }

  static async load(path = builtinPolicyPath()): Promise<CompiledPolicy> {
    // A FIFO named as the config's `policy:` would block every start.
    return CompiledPolicy.fromBytes(path, readFileBytes(path, 'EG_ERR_POLICY_LOAD', 'the compiled policy'));
  }

  /** The policy from its module's bytes (`path`: where they were read, for messages). */
  static fromBytes(path: string, bytes: Uint8Array): CompiledPolicy {
    try {
      // The sync loader: the async one tests `instanceof Response`, and that
      // first touch of the global loads Node's fetch stack (undici), 12 ms
      // of every short `check`. The module is small enough to compile inline.
      const wasm = loadPolicySync(bytes);
      if (!(Number(wasm.minorVersion) >= 2))
        throw new Error(`its ABI is 1.${wasm.minorVersion}; rebuild it with \`entitlegate policy build\` (OPA ABI 1.2 or later)`);
      if (!Object.hasOwn(wasm.entrypoints, ENTRYPOINT)) {
        throw new Error(`it has no ${ENTRYPOINT} entrypoint; build it with \`entitlegate policy build\``);
      }
      return new CompiledPolicy(path, 'sha256:' + createHash('sha256').update(bytes).digest('hex'), wasm, bytes);
    } catch (err) {
      throw new EntitlegateError('EG_ERR_POLICY_LOAD', `${path}: not a usable entitlegate policy: ${(err as Error).message}`);
    }
  }

  /**
   * Grows the policy's heap in one step before a large evaluation. Its
   * allocator (OPA's wasm/src/malloc.c) otherwise grows memory a page or two at
   * a time, and the many grows dominated big plans: a 16,000-claim decision
   * took 5 s the first time and 0.3 s once the heap had grown. The allocator
   * has no export to raise its heap top, so one large opa_malloc does it; the
   * block is forgotten when opa_eval resets the heap pointer. Evaluation needs
   * about 22 bytes of heap per input byte.
   */
  private reserveHeap(inputBytes: number): void {
    const want = inputBytes * HEAP_PER_INPUT_BYTE + HEAP_SLACK;
    if (want <= this.reservedHeap) return;
    const exports = (this.wasm.wasmInstance as WebAssembly.Instance).exports as { opa_malloc(size: number): number };
    exports.opa_malloc(want);
    this.reservedHeap = want;
  }

  /**
   * opa_eval (ABI 1.2+, checked at load) as opa-wasm's evaluate does it, minus two copies and
   * a byte loop: the input is encoded straight into the policy's memory, and
   * the answer is found with indexOf and decoded by one shared decoder. Both
   * ends run on every admission, and for a big plan the input is megabytes.
   * Uses the LoadedPolicy fields opa-wasm declares (mem, dataAddr, dataHeapPtr).
   */
  private evalDirect(json: string): unknown {
    const { mem, dataAddr, dataHeapPtr } = this.wasm;
    // Before the input is written: the reserving block is allocated at the heap top.
    this.reserveHeap(json.length);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const room = json.length * 3;
    const short = dataHeapPtr + room - mem.buffer.byteLength;
    if (short > 0) mem.grow(Math.ceil(short / WASM_PAGE));
    const { written } = encoder.encodeInto(json, new Uint8Array(mem.buffer, dataHeapPtr, room));
    const exports = (this.wasm.wasmInstance as WebAssembly.Instance).exports as { opa_eval(...args: number[]): number };
    const at = exports.opa_eval(0, this.entrypoint, dataAddr, dataHeapPtr, written, dataHeapPtr + written, 0);
    const out = new Uint8Array(mem.buffer);
    return JSON.parse(decoder.decode(out.subarray(at, out.indexOf(0, at))));
  }

  setData(data: object): void {
    this.wasm.setData(data);
  }

  evaluate(input: object): PolicyVerdict {
    let result: unknown;
    try {
      result = this.evalDirect(JSON.stringify(input));
    } catch (err) {
      // opa_abort throws a bare string ("rules.rego:5:1: var assignment conflict"), not an Error: its
      // text is the only clue the user gets, where `.message` said "undefined".
      if (typeof err === 'string')
        throw new EntitlegateError(
          'EG_ERR_POLICY_EVAL',
          `the policy failed to evaluate: ${err} (a rule stopped with a runtime error; fix it, test it with \`entitlegate policy test DIR\`, and rebuild the policy)`,
        );
      throw new EntitlegateError(
        'EG_ERR_POLICY_EVAL',
        `the policy failed to evaluate: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const verdict = (result as { result?: PolicyVerdict }[] | undefined)?.[0]?.result;
    if (!verdict || typeof verdict.allowed !== 'boolean' || !Array.isArray(verdict.violations) || !Array.isArray(verdict.warnings)) {
      throw new EntitlegateError('EG_ERR_POLICY_EVAL', 'the policy returned no decision (is data.config set?)');
    }
    return verdict;
  }
}
