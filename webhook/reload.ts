// Hot reload of the TLS certificate and of the config and usage files.
//
// Files are polled with stat(), which follows symlinks: Kubernetes updates a
// mounted Secret or ConfigMap by swapping the `..data` symlink, and editors
// and cert-manager replace files by rename — both change the inode a plain
// fs.watch on the file would keep watching. A change is acted on once the
// file has stayed the same for one interval, so a file being written is not
// read half-way.
import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import { EntitlegateError } from '../engine/errors.ts';
import { loadFiles } from '../config/load.ts';
import type { Gate } from './gate.ts';
import type { Metrics } from './metrics.ts';

function signature(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Calls `onChange` when any of `files` changed and then stayed put for one interval. */
export class FileWatch {
  readonly #files: readonly string[];
  readonly #timer: NodeJS.Timeout;
  #last: string;
  #applied: string;

  constructor(files: readonly string[], intervalMs: number, onChange: () => void) {
    this.#files = files;
    this.#last = this.#applied = signature(files);
    this.#timer = setInterval(() => {
      const now = signature(this.#files);
      if (now !== this.#last) this.#last = now;
      else if (now !== this.#applied) {
        this.#applied = now;
        onChange();
      }
    }, intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle that signs the kube-apiserver's client certificate (serve --client-ca). */
  clientCa?: string;
}

export function readTls(files: TlsFiles): { cert: Buffer; key: Buffer; ca?: Buffer } {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f);
    } catch (err) {
      throw new EntitlegateError('EG_ERR_FILE_NOT_FOUND', `${f}: cannot read the TLS ${what}: ${(err as Error).message}`);
    }
  };
  const tls = { cert: read(files.cert, 'certificate'), key: read(files.key, 'key') };
  // The client CA lives in the secure context, so a reload that left it out would stop verifying clients.
  return files.clientCa ? { ...tls, ca: read(files.clientCa, 'client CA') } : tls;
}

export interface ReloaderOptions {
  gate: Gate;
  metrics: Metrics;
  log: FastifyBaseLogger;
  intervalMs: number;
  tls?: { files: TlsFiles; server: HttpsServer };
  /** Called after a config reload took effect (the inventory is reconfigured by the gate). */
  onConfig?: () => void;
}

/** Watches the files and applies their changes; a bad change is refused loudly and the old state keeps serving. */
export class Reloader {
  readonly #watches: FileWatch[] = [];
  readonly #opts: ReloaderOptions;
  #configChain: Promise<void> = Promise.resolve();
  /** The custom policy file (`policy:`) and its watch; the config names it, so it follows config reloads. */
  #policy: { path: string; watch: FileWatch } | undefined;

  constructor(opts: ReloaderOptions) {
    this.#opts = opts;
    const { gate, intervalMs, tls } = opts;
    this.#watches.push(new FileWatch([gate.files.config, ...gate.files.usage], intervalMs, () => void this.reloadConfig()));
    this.#watchPolicy();
    if (tls) {
      const files = [tls.files.cert, tls.files.key, ...(tls.files.clientCa ? [tls.files.clientCa] : [])];
      this.#watches.push(new FileWatch(files, intervalMs, () => this.reloadTls()));
    }
  }

  reloadTls(): boolean {
    const { tls, log, metrics } = this.#opts;
    if (!tls) return false;
    try {
      // setSecureContext throws on a key that does not match the certificate;
      // the previous context stays. When cert and key change one after the
      // other, the second change triggers another, successful, reload.
      tls.server.setSecureContext(readTls(tls.files));
      metrics.reloads.inc({ kind: 'tls' });
      log.info({ cert: tls.files.cert }, 'TLS certificate reloaded');
      return true;
    } catch (err) {
      metrics.reloadFailures.inc({ kind: 'tls' });
      log.error(
        { cert: tls.files.cert, key: tls.files.key, error: (err as Error).message },
        'TLS reload refused; the previous certificate keeps serving',
      );
      return false;
    }
  }

  /** Reloads config and usage together; serialised so two quick edits apply in order. */
  reloadConfig(): Promise<void> {
    this.#configChain = this.#configChain.then(() => this.#reloadConfig(false));
    return this.#configChain;
  }

  /** Loads the custom policy file again (it was rebuilt), with config and usage as they are now. */
  reloadPolicy(): Promise<void> {
    this.#configChain = this.#configChain.then(() => this.#reloadConfig(true));
    return this.#configChain;
  }

  /** Watches the policy file the config names now (none for the built-in policy, which ships with the package). */
  #watchPolicy(): void {
    const path = this.#opts.gate.loaded.policyPath;
    if (path === this.#policy?.path) return;
    this.#policy?.watch.close();
    this.#policy = path ? { path, watch: new FileWatch([path], this.#opts.intervalMs, () => void this.reloadPolicy()) } : undefined;
  }

  async #reloadConfig(policyFile: boolean): Promise<void> {
    const { gate, log, metrics } = this.#opts;
    const kind = policyFile ? 'policy' : 'config';
    try {
      const before = gate.engine.policy.digest;
      const { config, usage: snapshots } = loadFiles(gate.files.config, gate.files.usage);
      await gate.apply(config, snapshots, { policyFile });
      metrics.reloads.inc({ kind });
      const policy = gate.engine.policy;
      if (policyFile) log.info({ policy: policy.path, digest: policy.digest, changed: policy.digest !== before }, 'policy reloaded');
      else log.info({ config: config.file, digest: config.digest, usage: snapshots.map((s) => s.file) }, 'config and usage reloaded');
      this.#opts.onConfig?.();
    } catch (err) {
      metrics.reloadFailures.inc({ kind });
      const problems = err instanceof EntitlegateError ? err.describe() : String((err as Error)?.message ?? err);
      const what = policyFile
        ? 'policy reload refused; the previous policy keeps serving'
        : 'config reload refused; the previous config keeps serving';
      log.error({ config: gate.files.config, problems }, `${what}:\n${problems}`);
    } finally {
      this.#watchPolicy();
    }
  }

  close(): void {
    for (const w of this.#watches) w.close();
    this.#policy?.watch.close();
  }
}
