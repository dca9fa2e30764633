// For Atlantis' custom_policy_check: Atlantis reads a custom policy tool's
// output, not its exit code, to decide whether the policy set passed. Its
// doPolicyCheck (server/events/project_command_runner.go) fails a set whose
// output matches `[1-9][0-9]* failure` or starts with "FAIL"; releases before
// December 2025 failed it on any "fail" in the output. So a blocked decision
// ends with a summary in conftest's shape ("N tests, N passed, N warnings,
// N failures, 0 exceptions", which Atlantis also shows in its comment), and an
// allowed one never says "fail" at all. Above it, the Markdown report, which
// Atlantis puts in the pull-request comment.
import type { Decision } from '../engine/types.ts';
import { decisionCases } from './cases.ts';
import { decisionMarkdown } from './markdown.ts';

export function atlantisSummary(d: Decision): string {
  const cases = decisionCases(d);
  const failed = cases.filter((c) => c.failures.length).length;
  const w = d.warnings.length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const head = `${plural(cases.length, 'test')}, ${cases.length - failed} passed, ${plural(w, 'warning')}`;
  return failed ? `${head}, ${plural(failed, 'failure')}, 0 exceptions` : `${head}, 0 exceptions`;
}

export function decisionAtlantis(d: Decision): string {
  return `${decisionMarkdown(d)}\n${atlantisSummary(d)}\n`;
}
