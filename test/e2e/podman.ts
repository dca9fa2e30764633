// Podman for the e2e tests of the image and the chart: runs with the project's
// containers.conf (scripts/podman-env.sh), and finds or builds the image.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** podman ARGS..., with CONTAINERS_CONF set as scripts/build-image.sh sets it. */
export function podman(args: string[], timeoutMs = 120_000): Run {
  const r = spawnSync('bash', ['-c', `. "${join(ROOT, 'scripts', 'podman-env.sh')}" && exec podman "$@"`, 'podman', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** podman ARGS... in the background; resolves with its exit code. */
export function podmanAsync(args: string[]): Promise<number | null> {
  const child = spawn('bash', ['-c', `. "${join(ROOT, 'scripts', 'podman-env.sh')}" && exec podman "$@"`, 'podman', ...args], {
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** Why the image tests cannot run here, or undefined. */
export function podmanUnavailable(): string | undefined {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'podman is not installed (scripts/build-image.sh installs it with apt-get)';
}

/** The image under test: $ENTITLEGATE_IMAGE (CI builds it first), else built now by scripts/build-image.sh. */
export function entitlegateImage(): string {
  if (process.env.ENTITLEGATE_IMAGE) return process.env.ENTITLEGATE_IMAGE;
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-image.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`scripts/build-image.sh failed: ${r.stderr}`);
  return r.stdout.trim();
}
