// Every place that names the release's version says the same one: the
// package, the chart, the Kubernetes example's image and the docs' pinned
// `npx entitlegate@X.Y.Z`; the docs use the action's major tag. Run by the
// release workflow with the pushed tag, and by test/release.test.ts with the
// package's version, so a bump that misses one fails before a tag is pushed.
//
//   node scripts/release-check.ts [v]X.Y.Z          checks; exit 1 with file:line of each problem
//   node scripts/release-check.ts --action-tag X.Y.Z the action's major tag for that version
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../engine/policy/wasm.ts';

/** Files users copy from: the README, docs/ and examples/ (Markdown, YAML, shell); docs/releasing.md speaks of X.Y.Z. */
function docFiles(root: string): string[] {
  const out = [join(root, 'README.md'), join(root, 'deploy', 'chart', 'README.md')];
  for (const dir of ['docs', 'examples']) {
    for (const e of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.(md|ya?ml|sh)$/.test(e.name) && e.name !== 'releasing.md') out.push(join(e.parentPath, e.name));
    }
  }
  return out;
}

/** The action's moving tag: v1 for 0.x and 1.x (the action's inputs and outputs are already v1), then vN. */
export function actionMajorTag(version: string): string {
  return `v${Math.max(1, Number(version.split('.')[0]))}`;
}

export function releaseProblems(root: string, tag: string): string[] {
  const version = tag.replace(/^v/, '');
  const problems: string[] = [];
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) return [`${tag}: not a release version (vX.Y.Z)`];
  const actionTag = actionMajorTag(version);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  if (pkg.version !== version) problems.push(`package.json: version ${pkg.version}, not ${version}`);
  const chart = parse(readFileSync(join(root, 'deploy', 'chart', 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
  if (chart.version !== version) problems.push(`deploy/chart/Chart.yaml: version ${chart.version}, not ${version}`);
  if (chart.appVersion !== version) problems.push(`deploy/chart/Chart.yaml: appVersion ${chart.appVersion}, not ${version}`);
  for (const file of docFiles(root)) {
    const name = relative(root, file);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const at = `${name}:${i + 1}`;
        for (const m of line.matchAll(/\bnpx (?:--yes )?entitlegate(@\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)?/g))
          if (m[1] !== `@${version}`) problems.push(`${at}: ${m[0]} (pin entitlegate@${version})`);
        for (const m of line.matchAll(/ghcr\.io\/entitlegate\/entitlegate:([\w.-]*\w)/g))
          if (m[1] !== version) problems.push(`${at}: image tag ${m[1]}, not ${version}`);
        for (const m of line.matchAll(/uses: entitlegate\/entitlegate@([\w.-]+)/g))
          if (m[1] !== actionTag) problems.push(`${at}: entitlegate/entitlegate@${m[1]} (use the major tag ${actionTag})`);
        for (const m of line.matchAll(/charts\/entitlegate --version (\S+)/g))
          if (m[1] !== version) problems.push(`${at}: chart version ${m[1]}, not ${version}`);
        for (const m of line.matchAll(/entitlegate\/releases\/download\/v([^/\s]+)\//g))
          if (m[1] !== version) problems.push(`${at}: release download v${m[1]}, not v${version}`);
        for (const m of line.matchAll(/uses: actions\/checkout@v(\d+)/g))
          if (Number(m[1]) < 5) problems.push(`${at}: actions/checkout@v${m[1]} (use v5)`);
      });
  }
  return problems;
}

if (import.meta.main) {
  if (process.argv[2] === '--action-tag' && process.argv[3]) {
    process.stdout.write(`${actionMajorTag(process.argv[3].replace(/^v/, ''))}\n`);
    process.exit(0);
  }
  const tag = process.argv[2];
  if (!tag) {
    process.stderr.write('usage: node scripts/release-check.ts vX.Y.Z\n');
    process.exit(2);
  }
  const problems = releaseProblems(packageRoot(), tag);
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.exit(problems.length ? 1 : 0);
}
