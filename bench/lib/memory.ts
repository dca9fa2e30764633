// Runs the webhook-memory probe (inventory-probe.mjs) in a child process
// against a fake API server in another child process.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from './child.ts';
import { startFakeKube } from './fake-kube.ts';

export interface ProbeResult {
  syncMs: number;
  /** RSS after sync and a full GC: what the process keeps. */
  rssMb: number;
  /** Highest RSS the process reached (getrusage maxrss), sync included. */
  maxRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory outside the JS heap that V8 knows of (Buffers, WASM memory). */
  externalMb: number;
  /** RSS before the inventory started (engine, policy and client loaded). */
  baseRssMb: number;
  usageRecords: number;
  usedVcpu: number;
  decisionAllowed: boolean;
}

const PROBE = fileURLToPath(new URL('./inventory-probe.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/adapters/kubernetes/inventory.js', import.meta.url));

/** `own`: the Inventory's list/watch client; `informer`: @kubernetes/client-node informers into the same index. */
export type ProbeClient = 'own' | 'informer';

export function runProbe(
  apiUrl: string,
  configFile: string,
  extraNodeArgs: string[] = [],
  client: ProbeClient = 'own',
): Promise<ProbeResult> {
  if (!existsSync(DIST)) return Promise.reject(new Error('dist/ is missing: run `npm run build` (npm run bench does)'));
  return runJsonChild<ProbeResult>('inventory probe', ['--expose-gc', ...extraNodeArgs, PROBE, apiUrl, configFile, client]);
}

/** A fake cluster of `pods` pods in one process, the probe in another. */
export async function measureInventory(
  pods: number,
  configFile: string,
  extraNodeArgs: string[] = [],
  client: ProbeClient = 'own',
): Promise<ProbeResult> {
  const api = await startFakeKube(pods);
  try {
    return await runProbe(api.url, configFile, extraNodeArgs, client);
  } finally {
    api.stop();
  }
}
