// Folders, links and files that are not files, made at run time (git keeps
// neither FIFOs nor unreadable files): each is read or refused with a message
// naming the path, exit 2 and never "internal error" or a hang.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decision } from '../engine/types.ts';
import { ROOT } from './cli-harness.ts';

const CONFIG = join(ROOT, 'test', 'bypass', 'entitlegate.yaml');
const deployment = (name: string, replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: prod }
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: db
          image: container-registry.oracle.com/database/enterprise:21.3.0
          resources: { limits: { cpu: "2" } }
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'entitlegate-paths-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI from its sources, in the temp folder; a hang fails the test instead of the run. */
function check(...paths: string[]) {
  // A --config among `paths` wins: the last one given counts.
  const r = spawnSync(process.execPath, [join(ROOT, 'cli', 'main.ts'), 'check', '--config', CONFIG, '--format', 'json', ...paths], {
    cwd: dir,
    encoding: 'utf8',
    input: '',
    timeout: 20_000,
  });
  expect(r.signal, 'the run ended by itself (a FIFO must not block it)').toBeNull();
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const requested = (stdout: string) => (JSON.parse(stdout) as Decision).products.find((p) => p.product === 'oracle-db-ee')?.requested;

describe('check: folders and links', () => {
  it('follows a linked sub-folder and counts what it holds', () => {
    mkdirSync(join(dir, 'shared'));
    writeFileSync(join(dir, 'shared', 'db.yaml'), deployment('linked', 4));
    mkdirSync(join(dir, 'manifests'));
    writeFileSync(join(dir, 'manifests', 'app.yaml'), deployment('app', 1));
    symlinkSync('../shared', join(dir, 'manifests', 'team'));
    const r = check('manifests');
    expect(r.code, r.stderr).toBe(1);
    expect(requested(r.stdout)).toBe(10);
  });

  it('ends a link loop, and reads a file reached through several links once', () => {
    mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'm', 'sub', 'db.yaml'), deployment('db', 1));
    symlinkSync('..', join(dir, 'm', 'sub', 'up')); // m/sub/up → m: a loop
    symlinkSync('sub', join(dir, 'm', 'again')); // a second way to the same folder
    symlinkSync('sub/db.yaml', join(dir, 'm', 'alias.yaml')); // a second name for the same file
    const r = check('m', 'm/sub/db.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(requested(r.stdout)).toBe(2);
    expect((JSON.parse(r.stdout) as Decision).claims).toHaveLength(1);
  });

  it('a folder whose files were all read through another path is not "nothing to check"', () => {
    mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'm', 'sub', 'db.yaml'), deployment('db', 5));
    const r = check('m/sub', 'm');
    expect(r.code, r.stderr).toBe(1);
    expect(requested(r.stdout)).toBe(10);
  });

  it('refuses a FIFO in a folder instead of waiting for a writer', () => {
    writeFileSync(join(dir, 'app.yaml'), deployment('app'));
    const fifo = join(dir, 'pipe.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = check('.');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipe.yaml is a FIFO (named pipe), not a regular file');
  });

  it('refuses a device named on the command line', () => {
    const r = check('/dev/zero');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/dev/zero is a character device, not a regular file');
  });

  it('names missing paths and dangling links, exit 2', () => {
    symlinkSync('gone.yaml', join(dir, 'dangling.yaml'));
    const r = check('nothere.yaml', 'dangling.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothere.yaml no such file or folder');
    expect(r.stderr).toContain('dangling.yaml is a dangling link: it points to gone.yaml, which does not exist');
  });

  it('names one bad input once, not once in the headline and again below it', () => {
    writeFileSync(join(dir, 'truncated.json'), '{"apiVersion": "v1",\n');
    writeFileSync(join(dir, 'plain.yaml'), 'hello: world\n');
    writeFileSync(join(dir, 'utf32.yaml'), Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]));
    symlinkSync('/proc/self/mem', join(dir, 'mem.yaml'));
    for (const path of ['nothere.yaml', 'truncated.json', 'plain.yaml', 'utf32.yaml', 'mem.yaml']) {
      const r = check(path);
      expect(r.code).toBe(2);
      expect(r.stderr.split(path).length - 1, r.stderr).toBe(1);
    }
  });

  it('names a file that cannot be read, exit 2', () => {
    // Tests run as root, which chmod 000 does not stop; a link to a file
    // whose read fails for everyone (EIO at offset 0) is an honest stand-in.
    symlinkSync('/proc/self/mem', join(dir, 'mem.yaml'));
    const r = check('.');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mem\.yaml cannot be read: EIO/);
  });

  it('lists every bad file of a folder, each once, and evaluates nothing', () => {
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'a-good.yaml'), deployment('good'));
    writeFileSync(join(dir, 'm', 'b-not-k8s.yaml'), 'foo: 1\n');
    writeFileSync(join(dir, 'm', 'c-truncated.json'), '{"apiVersion": "v1",\n');
    symlinkSync('b-not-k8s.yaml', join(dir, 'm', 'd-same-file.yaml'));
    symlinkSync('missing.yaml', join(dir, 'm', 'e-dangling.yaml'));
    const r = check('m', 'm/b-not-k8s.yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('3 inputs cannot be checked');
    for (const bad of ['m/b-not-k8s.yaml:1:1 not an input', 'm/c-truncated.json:2:1', 'm/e-dangling.yaml is a dangling link']) {
      expect(r.stderr.split(bad).length - 1, `${bad} listed once in\n${r.stderr}`).toBe(1);
    }
    expect(r.stderr).not.toContain('d-same-file');
  });

  it('reads UTF-16 and BOM files found in a folder', () => {
    writeFileSync(join(dir, 'le.yaml'), Buffer.from(`\ufeff${deployment('le', 4).replaceAll('\n', '\r\n')}`, 'utf16le'));
    writeFileSync(join(dir, 'bom.yaml'), `\ufeff${deployment('bom', 1)}`);
    const r = check('.');
    expect(r.code, r.stderr).toBe(1);
    expect(requested(r.stdout)).toBe(10);
  });
});

describe('check: what kubectl apply -R reads, entitlegate reads', () => {
  it('counts hidden files, dot-folders and node_modules; skips only .git', () => {
    for (const sub of ['.hidden', 'node_modules', '.git']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, '.db.yaml'), deployment('dot-file', 1));
    writeFileSync(join(dir, '.hidden', 'db.yaml'), deployment('dot-folder', 1));
    writeFileSync(join(dir, 'node_modules', 'db.yaml'), deployment('node-modules', 1));
    writeFileSync(join(dir, '.git', 'config.json'), '{"not": "a manifest"}');
    const r = check('.');
    expect(r.code, r.stderr).toBe(0);
    expect(requested(r.stdout)).toBe(6);
  });
});

describe('check: the config and usage beside the manifests', () => {
  it('a folder walk passes by the config and usage snapshots the run was given', () => {
    mkdirSync(join(dir, 'deploy'));
    writeFileSync(join(dir, 'deploy', 'db.yaml'), deployment('db', 5));
    copyFileSync(CONFIG, join(dir, 'deploy', 'entitlegate.yaml'));
    writeFileSync(join(dir, 'deploy', 'usage.yaml'), 'version: 1\nsource: sam\nobservedAt: 2026-11-28T06:00:00Z\nusage: []\n');
    const r = check('deploy', '--config', 'deploy/entitlegate.yaml', '--usage', 'deploy/usage.yaml');
    expect(r.code, r.stderr).toBe(1);
    expect(requested(r.stdout)).toBe(10);
  });
});

describe('check: the config and usage files are read as inputs are', () => {
  const usage = 'version: 1\nsource: sam\nobservedAt: 2026-11-28T06:00:00Z\nusage: []\n';

  it('refuses a FIFO as --config or --usage instead of waiting for a writer', () => {
    writeFileSync(join(dir, 'db.yaml'), deployment('db'));
    expect(spawnSync('mkfifo', [join(dir, 'config.yaml'), join(dir, 'usage.yaml')]).status).toBe(0);
    const config = check('db.yaml', '--config', 'config.yaml');
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('config.yaml: is a FIFO (named pipe), not a regular file');
    const snapshot = check('db.yaml', '--usage', 'usage.yaml');
    expect(snapshot.code).toBe(2);
    expect(snapshot.stderr).toContain('usage.yaml: is a FIFO (named pipe), not a regular file');
  });

  it("refuses a FIFO named as the config's compiled policy", () => {
    writeFileSync(join(dir, 'db.yaml'), deployment('db'));
    writeFileSync(join(dir, 'config.yaml'), `policy: policy.wasm\n${readFileSync(CONFIG, 'utf8')}`);
    expect(spawnSync('mkfifo', [join(dir, 'policy.wasm')]).status).toBe(0);
    const r = check('db.yaml', '--config', 'config.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policy.wasm: the compiled policy is a FIFO (named pipe), not a regular file');
  });

  it('reads a UTF-16 config and usage snapshot (BOM, CRLF), as a Windows editor saves them', () => {
    writeFileSync(join(dir, 'db.yaml'), deployment('db', 2));
    const utf16 = (text: string) => Buffer.from(`\ufeff${text.replaceAll('\n', '\r\n')}`, 'utf16le');
    writeFileSync(join(dir, 'config.yaml'), utf16(readFileSync(CONFIG, 'utf8')));
    writeFileSync(join(dir, 'usage.yaml'), utf16(usage.replace('usage: []', 'usage:\n  - { product: oracle-db-ee, quantity: 4 }')));
    const r = check('db.yaml', '--config', 'config.yaml', '--usage', 'usage.yaml');
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Decision).products[0]).toMatchObject({ product: 'oracle-db-ee', used: 4, requested: 4 });
  });

  it('says a config is UTF-16 without a byte-order mark, not "expected object"', () => {
    writeFileSync(join(dir, 'db.yaml'), deployment('db'));
    writeFileSync(join(dir, 'config.yaml'), Buffer.from(readFileSync(CONFIG, 'utf8'), 'utf16le'));
    const r = check('db.yaml', '--config', 'config.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'config.yaml holds a NUL character (at character 2), which is not text; it looks like UTF-16 without a byte-order mark',
    );
    expect(r.stderr).not.toContain('expected object');
  });
});
