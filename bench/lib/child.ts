// A bench helper process (node with `args`, or another `command`): run it,
// give it optional JSON on stdin, read one JSON result from its stdout; a
// failure carries the tail of its stderr.
import { spawn } from 'node:child_process';

export function runJsonChild<T>(what: string, args: string[], input?: unknown, command = process.execPath): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited ${code}: ${err.trim().slice(-1500)}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${what} printed no result: ${out.slice(0, 200)} ${err.slice(-500)}`));
      }
    });
    if (input !== undefined) child.stdin!.end(JSON.stringify(input));
  });
}
