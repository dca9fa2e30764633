// Test helper: runs the Terraform that scripts/install-terraform.sh builds.
// Tests that need it skip, saying why, only when the binary is absent.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toolCacheDir } from '../../engine/policy/compile.ts';

export const TERRAFORM_VERSION = 'v1.5.7';

/** ENTITLEGATE_TERRAFORM, else the installer's cache path. */
export function terraformPath(): string {
  if (process.env.ENTITLEGATE_TERRAFORM) return process.env.ENTITLEGATE_TERRAFORM;
  return join(toolCacheDir(), 'go', `terraform-${TERRAFORM_VERSION}`, 'bin', 'terraform');
}

export function terraformMissingReason(): string | undefined {
  const path = terraformPath();
  return existsSync(path) ? undefined : `Terraform not found at ${path}: run scripts/install-terraform.sh or set ENTITLEGATE_TERRAFORM`;
}

/** A throwaway working directory with files written from a { relative path: content } map. */
export class TerraformWorkdir {
  readonly dir = mkdtempSync(join(tmpdir(), 'entitlegate-tf-'));
  readonly #env: NodeJS.ProcessEnv;

  constructor() {
    const rc = join(this.dir, '.terraformrc');
    writeFileSync(rc, '');
    // Offline and quiet: no checkpoint calls, no user CLI config, no colour.
    this.#env = {
      ...process.env,
      CHECKPOINT_DISABLE: '1',
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      TF_CLI_CONFIG_FILE: rc,
      TF_DATA_DIR: join(this.dir, '.terraform'),
    };
  }

  write(files: Record<string, string>): void {
    for (const [rel, content] of Object.entries(files)) {
      const path = join(this.dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }

  run(...args: string[]): string {
    return execFileSync(terraformPath(), [...args, '-no-color'], {
      cwd: this.dir,
      env: this.#env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 28,
    });
  }

  /** `terraform plan -out` then `terraform show -json`: the text `entitlegate check` reads. */
  planJson(...planArgs: string[]): string {
    this.run('plan', '-input=false', '-out=tfplan', ...planArgs);
    return execFileSync(terraformPath(), ['show', '-json', 'tfplan'], {
      cwd: this.dir,
      env: this.#env,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
  }

  apply(): void {
    this.run('apply', '-input=false', '-auto-approve', 'tfplan');
  }
}
