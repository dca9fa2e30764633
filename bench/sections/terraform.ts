// Terraform section: `entitlegate check plan.json` as a separate process, beside
// `conftest test` running the same rule in Rego (bench/fixtures/conftest) and a
// bare `node -e JSON.parse` of the same file. Generated plans of 1,000, 10,000
// and (full runs) 50,000 resource changes. Each subject runs 3 times,
// interleaved so drift hits all alike; the best wall time counts, and the peak
// RSS is the highest seen (from /usr/bin/time -f %M, else /proc polling).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePlan } from '../../adapters/terraform/generate-plan.ts';
import { toolCacheDir } from '../../engine/policy/compile.ts';
import { packageRoot } from '../../engine/policy/wasm.ts';
import type { BenchRow, BenchSection } from '../types.ts';

const ROOT = packageRoot();
const FIX = join(ROOT, 'bench', 'fixtures');
const RUNS = 3;
const NOW = '2026-11-28T10:00:00Z';
const BARE = 'node JSON.parse (bare)';
const EG = 'entitlegate check --format json';
const EG_FIRST = 'entitlegate check --format json, first run (no code cache)';
const BIN_FIRST = 'single binary check --format json, first run (new home)';
const CONFTEST_VERSION = 'v0.69.0';
const CONFTEST = `conftest test (${CONFTEST_VERSION})`;

interface Measured {
  wallMs: number;
  peakRssMb: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Subject {
  name: string;
  cmd: string[];
  /** Exit codes that mean it worked (conftest: 0 pass; entitlegate: 0 allowed). */
  ok: number[];
  /** Node's compile-cache folder for the run: shared by the runs, or a new empty one each run ('fresh'). */
  compileCache?: string | 'fresh';
  /** A new empty XDG_CACHE_HOME each run: the single binary unpacks its policy there on a first run. */
  freshHome?: boolean;
}

const TIME = '/usr/bin/time';
const RSS_MARK = 'EG_BENCH_PEAK_RSS_KB=';

function hasGnuTime(): boolean {
  if (!existsSync(TIME)) return false;
  const r = spawnSync(TIME, ['-f', `${RSS_MARK}%M`, 'true'], { encoding: 'utf8' });
  return r.status === 0 && r.stderr.includes(RSS_MARK);
}

function conftestPath(): string | undefined {
  const candidates = [process.env.ENTITLEGATE_CONFTEST, join(toolCacheDir(), 'go', `conftest-${CONFTEST_VERSION}`, 'bin', 'conftest')];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** The single executable (scripts/build-binary.ts), when it was built. */
function binaryPath(): string | undefined {
  const candidates = [process.env.ENTITLEGATE_BINARY, join(ROOT, 'dist', 'sea', `entitlegate-${process.platform}-${process.arch}`)];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

function entitlegateCmd(): { cmd: string[]; note: string } {
  const dist = join(ROOT, 'dist', 'bin', 'entitlegate.js');
  if (existsSync(dist)) return { cmd: [process.execPath, dist], note: 'dist/bin/entitlegate.js (the package bin)' };
  return { cmd: [process.execPath, join(ROOT, 'cli', 'main.ts')], note: 'cli/main.ts (no build: type stripping at start-up included)' };
}

/** One run: wall time from the parent, stdout through a file (no pipe back-pressure). */
async function measure(s: Subject, gnuTime: boolean, dir: string): Promise<Measured> {
  const { cmd } = s;
  const outFile = join(dir, 'stdout');
  const out = openSync(outFile, 'w');
  const env: NodeJS.ProcessEnv = s.compileCache
    ? { ...process.env, NODE_COMPILE_CACHE: s.compileCache === 'fresh' ? mkdtempSync(join(dir, 'cold-cache-')) : s.compileCache }
    : { ...process.env };
  if (s.freshHome) env.XDG_CACHE_HOME = mkdtempSync(join(dir, 'home-cache-'));
  try {
    if (gnuTime) {
      const start = performance.now();
      const r = spawnSync(TIME, ['-f', `${RSS_MARK}%M`, ...cmd], {
        stdio: ['ignore', out, 'pipe'],
        encoding: 'utf8',
        maxBuffer: 1 << 26,
        env,
      });
      const wallMs = performance.now() - start;
      const kb = new RegExp(`${RSS_MARK}(\\d+)`).exec(r.stderr)?.[1];
      return {
        wallMs,
        peakRssMb: kb ? Number(kb) / 1024 : undefined,
        code: r.status,
        stdout: readFileSync(outFile, 'utf8'),
        stderr: r.stderr.replace(new RegExp(`${RSS_MARK}\\d+\\s*`), ''),
      };
    }
    return await measurePolling(cmd, out, outFile, env);
  } finally {
    closeSync(out);
  }
}

/** Without GNU time: VmHWM (the kernel's own peak) read from /proc while the child runs. */
function measurePolling(cmd: string[], out: number, outFile: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', out, 'pipe'], env });
    let stderr = '';
    let hwmKb = 0;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 2);
    child.on('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({
        wallMs: performance.now() - start,
        peakRssMb: hwmKb ? hwmKb / 1024 : undefined,
        code,
        stdout: readFileSync(outFile, 'utf8'),
        stderr,
      });
    });
  });
}

const round = (x: number | undefined, digits = 1) => (x === undefined ? undefined : Number(x.toFixed(digits)));
const fmtN = (n: number) => new Intl.NumberFormat('en-US').format(n);

/** The vCPU table in the Rego data must be the shipped one, or the rules are not equivalent. */
function checkRegoData(): void {
  const shipped = (
    JSON.parse(readFileSync(join(ROOT, 'adapters', 'terraform', 'instance-types.json'), 'utf8')) as { vcpu: Record<string, number> }
  ).vcpu;
  const rego = (
    JSON.parse(readFileSync(join(FIX, 'conftest', 'data', 'licence.json'), 'utf8')) as { licence: { vcpu: Record<string, number> } }
  ).licence.vcpu;
  for (const [type, n] of Object.entries(rego)) {
    if (shipped[type] !== n)
      throw new Error(`bench/fixtures/conftest/data/licence.json: ${type} is ${n} vCPU there, ${shipped[type]} in instance-types.json`);
  }
}

export const terraformSection: BenchSection = {
  name: 'terraform',
  async run({ quick, log }) {
    checkRegoData();
    const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 50_000];
    const gnuTime = hasGnuTime();
    const conftest = conftestPath();
    const eg = entitlegateCmd();
    const binary = binaryPath();
    const dir = mkdtempSync(join(tmpdir(), 'entitlegate-bench-tf-'));
    log(
      `terraform: ${eg.note}; peak RSS from ${gnuTime ? '/usr/bin/time -f %M' : '/proc/PID/status VmHWM polling'}; conftest ${conftest ?? 'not installed (scripts/install-conftest.sh)'}`,
    );
    const rows: BenchRow[] = [];
    try {
      for (const n of sizes) {
        const planFile = join(dir, `plan-${n}.json`);
        writeFileSync(planFile, generatePlan(n));
        const mb = statSync(planFile).size / 2 ** 20;
        const input = `${fmtN(n)} resource changes (${mb.toFixed(1)} MB)`;
        const egCheck = [
          ...eg.cmd,
          'check',
          planFile,
          '--config',
          join(FIX, 'terraform', 'entitlegate.yaml'),
          '--usage',
          join(FIX, 'terraform', 'usage.yaml'),
          '--format',
          'json',
          '--now',
          NOW,
        ];
        const subjects: Subject[] = [
          {
            name: BARE,
            cmd: [process.execPath, '-e', "JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'))", planFile],
            ok: [0],
          },
          // The bin keeps a V8 code cache after its first run (cli/launcher.ts): the
          // first of these runs writes it, the others use it, as on a machine that
          // runs checks. A first run ever is measured on its own below.
          { name: EG, cmd: egCheck, ok: [0], compileCache: join(dir, 'compile-cache') },
        ];
        if (n === sizes[0]) subjects.push({ name: EG_FIRST, cmd: egCheck, ok: [0], compileCache: 'fresh' });
        if (n === sizes[0] && binary)
          subjects.push({ name: BIN_FIRST, cmd: [binary, ...egCheck.slice(eg.cmd.length)], ok: [0], freshHome: true });
        if (conftest) {
          subjects.push({
            name: CONFTEST,
            cmd: [
              conftest,
              'test',
              planFile,
              '--policy',
              join(FIX, 'conftest', 'policy'),
              '--data',
              join(FIX, 'conftest', 'data'),
              '--no-color',
            ],
            ok: [0],
          });
        }
        const results = new Map<string, Measured[]>(subjects.map((s) => [s.name, []]));
        for (let run = 0; run < RUNS; run++) {
          for (const s of subjects) {
            const m = await measure(s, gnuTime, dir);
            if (!s.ok.includes(m.code ?? -1)) throw new Error(`${s.name} on ${input} exited ${m.code}: ${m.stderr.slice(0, 500)}`);
            results.get(s.name)!.push(m);
          }
        }
        const best = (name: string) => {
          const ms = results.get(name)!;
          return {
            wallMs: Math.min(...ms.map((m) => m.wallMs)),
            peakRssMb: ms.some((m) => m.peakRssMb !== undefined) ? Math.max(...ms.map((m) => m.peakRssMb ?? 0)) : undefined,
            all: ms,
          };
        };
        const bare = best(BARE);
        const e = best(EG);
        const requested = (JSON.parse(e.all[0]!.stdout) as { products: { requested: number }[] }).products[0]?.requested;
        const runsNote = (ms: Measured[]) => `runs ${ms.map((m) => Math.round(m.wallMs)).join(', ')} ms`;
        log(
          `terraform: ${input}: bare ${Math.round(bare.wallMs)} ms, entitlegate ${Math.round(e.wallMs)} ms${conftest ? `, conftest ${Math.round(best(CONFTEST).wallMs)} ms` : ''}`,
        );

        rows.push({
          section: 'terraform',
          subject: BARE,
          input,
          wallMs: round(bare.wallMs),
          peakRssMb: round(bare.peakRssMb),
          note: `node start-up + read + JSON.parse; ${runsNote(bare.all)}`,
        });
        const ratioBare = e.wallMs / bare.wallMs;
        const egNotes = [`${eg.note}; requested ${requested} vCPU; ${runsNote(e.all)}`];
        if (n === 10_000)
          egNotes.push(`docs/architecture.md target: a 10,000-resource plan in about a second — ${Math.round(e.wallMs)} ms`);
        rows.push({
          section: 'terraform',
          subject: EG,
          input,
          wallMs: round(e.wallMs),
          peakRssMb: round(e.peakRssMb),
          baseline: BARE,
          ratio: round(ratioBare, 3),
          target: 'within 3× of a bare JSON.parse',
          met: ratioBare <= 3,
          note: egNotes.join('; '),
        });

        if (conftest) {
          const c = best(CONFTEST);
          const conftestRequested = Number(/requested (-?\d+) vcpu/.exec(c.all[0]!.stdout)?.[1]);
          const same = conftestRequested === requested;
          rows.push({
            section: 'terraform',
            subject: CONFTEST,
            input,
            wallMs: round(c.wallMs),
            peakRssMb: round(c.peakRssMb),
            baseline: BARE,
            ratio: round(c.wallMs / bare.wallMs, 3),
            note: `same rule in Rego (bench/fixtures/conftest); requested ${conftestRequested} vCPU${same ? ', same as entitlegate' : ' — DIFFERS from entitlegate'}; ${runsNote(c.all)}`,
          });
          if (!same) throw new Error(`conftest and entitlegate disagree on ${input}: ${conftestRequested} vs ${requested} vCPU requested`);
          const ratio = e.wallMs / c.wallMs;
          rows.push({
            section: 'terraform',
            subject: EG,
            input,
            wallMs: round(e.wallMs),
            peakRssMb: round(e.peakRssMb),
            baseline: CONFTEST,
            ratio: round(ratio, 3),
            target: 'faster than conftest',
            met: ratio < 1,
            note: 'same measurement as the row above, compared with conftest',
          });
        } else {
          rows.push({
            section: 'terraform',
            subject: CONFTEST,
            input,
            note: 'not measured: conftest not installed (scripts/install-conftest.sh, or ENTITLEGATE_CONFTEST)',
          });
        }
        if (results.has(EG_FIRST)) {
          const f = best(EG_FIRST);
          const versus = conftest
            ? { baseline: CONFTEST, ratio: round(f.wallMs / best(CONFTEST).wallMs, 3) }
            : { baseline: EG, ratio: round(f.wallMs / e.wallMs, 3) };
          rows.push({
            section: 'terraform',
            subject: EG_FIRST,
            input,
            wallMs: round(f.wallMs),
            peakRssMb: round(f.peakRssMb),
            ...versus,
            note: `an empty compile-cache folder each run, as on a fresh CI machine: compiles as it goes and writes the cache; ${runsNote(f.all)}`,
          });
        }
        if (n === sizes[0]) {
          if (results.has(BIN_FIRST)) {
            const b = best(BIN_FIRST);
            if (b.all[0]!.stdout !== e.all[0]!.stdout) throw new Error(`the single binary and the package bin disagree on ${input}`);
            const c = conftest ? best(CONFTEST) : undefined;
            rows.push({
              section: 'terraform',
              subject: BIN_FIRST,
              input,
              wallMs: round(b.wallMs),
              peakRssMb: round(b.peakRssMb),
              ...(c
                ? { baseline: CONFTEST, ratio: round(b.wallMs / c.wallMs, 3), target: 'faster than conftest', met: b.wallMs < c.wallMs }
                : { baseline: EG_FIRST, ratio: round(b.wallMs / best(EG_FIRST).wallMs, 3) }),
              note: `scripts/build-binary.ts, no Node on the runner; a new empty cache home each run (it unpacks the policy there), its code cache built in; same output as the package bin; ${runsNote(b.all)}`,
            });
          } else {
            rows.push({
              section: 'terraform',
              subject: BIN_FIRST,
              input,
              note: 'not measured: no binary (node scripts/build-binary.ts, or ENTITLEGATE_BINARY)',
            });
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
