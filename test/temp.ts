// Temp folders for tests, removed once the test file's tests are done, so a
// run leaves nothing behind under the OS temp folder. Vitest runs each test
// file in its own module graph, so each file that imports this gets its own
// list and its own afterAll.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the OS temp folder, removed after the importing test file's last test. */
export function tempDir(prefix = 'eg-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
