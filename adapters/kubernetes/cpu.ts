// Kubernetes resource quantities for CPU, parsed exactly into integer
// millicores. Floating point would turn "0.1" × 3 into 0.30000000000000004 and
// round a claim up by a whole core, so the arithmetic is done in BigInt.
import { BoundedMemo } from './memo.ts';

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/**
 * Millicores of a CPU quantity ("500m", "2", "1.5", "0.1", "1e3", or a YAML
 * number), rounded up to a whole millicore as Kubernetes does (a pod asking
 * for "100n" is given 1m). Undefined when it is not a valid non-negative quantity.
 */
export function cpuMillis(value: unknown): number | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  // A cluster writes the same few quantities ("500m", "2") over and over,
  // and the exact BigInt parse was a tenth of an admission's claims.
  return PARSED.get(text, parseMillis);
}

const PARSED = new BoundedMemo<string, number | undefined>();

function parseMillis(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, number = '', suffix, exponent] = m;
  const [whole = '', fraction = ''] = number.split('.');
  let digits = BigInt((whole || '0') + fraction);
  // value = digits × 10^power10 × binary; millicores = value × 10^3
  let power10 = 3 - fraction.length;
  if (exponent !== undefined) power10 += Number(exponent);
  else if (suffix !== undefined && suffix in BINARY_SUFFIX) digits *= BINARY_SUFFIX[suffix] ?? 1n;
  else power10 += DECIMAL_SUFFIX[suffix ?? ''] ?? 0;
  if (Math.abs(power10) > 400) return undefined;
  let millis: bigint;
  if (power10 >= 0) millis = digits * 10n ** BigInt(power10);
  else {
    const div = 10n ** BigInt(-power10);
    millis = (digits + div - 1n) / div; // ceiling: digits is non-negative
  }
  if (millis > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(millis);
}

/** Whole cores from millicores, rounded up (accounting rule 4). */
export function wholeCores(millis: number): number {
  return Math.ceil(millis / 1000);
}
