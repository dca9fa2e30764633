// The action: inputs → engine → outputs. Everything that goes wrong ends in
// one place, core.setFailed, with a message a person can act on (a bad config
// lists each problem as `file:line:col message`); a denial in enforce mode
// fails the step the same way.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { headline } from '../../render/common.ts';
import { decisionSarif } from '../../render/sarif.ts';
import { decisionText } from '../../render/text.ts';
import { definitionLines } from '../../engine/config/definitions.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { EntitlegateError } from '../../engine/errors.ts';
import type { Decision } from '../../engine/types.ts';
import { annotationsOf, emitAnnotations } from './annotations.ts';
import { runContext, type RunContext } from './context.ts';
import { decide } from './decide.ts';
import { readInputs } from './inputs.ts';
import { publish } from './publish.ts';
import { summaryMarkdown, writeSummary } from './summary.ts';

/** A denial in enforce mode: the step fails, after everything is reported. */
class Blocked extends Error {}

/**
 * Writes the decision JSON (the CLI's `--format json`) and its SARIF (for
 * github/codeql-action/upload-sarif) under RUNNER_TEMP.
 */
function writeReports(d: Decision, config: LoadedConfig, ctx: RunContext): { report: string; sarif: string } {
  const dir = mkdtempSync(join(ctx.tempDir, 'entitlegate-'));
  const report = join(dir, 'decision.json');
  writeFileSync(report, JSON.stringify(d, null, 2) + '\n');
  const sarif = join(dir, 'entitlegate.sarif');
  writeFileSync(sarif, decisionSarif(d, { configFile: config.file, configLine: definitionLines(config), root: ctx.workspace }));
  return { report, sarif };
}

export async function gate(): Promise<Decision> {
  const ctx = runContext();
  const inputs = readInputs();
  const { decision: d, config, configFile, inputs: files, warnings, reservation } = await decide(inputs, ctx.workspace);
  // Annotations on the file and line, as `check` prints them on stderr.
  for (const w of warnings)
    core.warning(w.message, {
      title: 'entitlegate input warning',
      ...(w.file ? { file: w.file } : {}),
      ...(w.line ? { startLine: w.line } : {}),
    });

  const { report, sarif } = writeReports(d, config, ctx);
  core.setOutput('allowed', String(d.allowed));
  core.setOutput('violations', String(d.violations.length));
  core.setOutput('report', report);
  core.setOutput('sarif', sarif);
  core.info(decisionText(d));
  if (reservation) {
    core.setOutput('reservation-id', reservation.id);
    core.setOutput('reservation-expires-at', reservation.expiresAt);
    core.info(
      `reservation ${reservation.id} holds this change at the ledger until ${reservation.expiresAt}: confirm it once deployed (entitlegate ledger confirm ${reservation.id}), or release it`,
    );
  }

  const annotations = annotationsOf(d, config, configFile);
  emitAnnotations(annotations);

  const summary = { inputs: files, configFile, runUrl: ctx.runUrl };
  const { notes } = await publish(d, annotations, inputs, ctx, summary);
  writeSummary(summaryMarkdown(d, { ...summary, notes }));

  if (!d.allowed) throw new Blocked(`entitlegate: ${headline(d)}; see the job summary for how to fix each violation`);
  return d;
}

export async function run(): Promise<void> {
  try {
    await gate();
  } catch (err) {
    if (err instanceof Blocked) {
      core.setFailed(err.message);
    } else if (err instanceof EntitlegateError) {
      writeSummary(`## ⛔ entitlegate could not evaluate\n\n\`\`\`\n${err.describe()}\n\`\`\`\n`);
      for (const p of err.problems)
        if (p.file && p.line)
          core.error(p.message, { title: err.code, file: p.file, startLine: p.line, ...(p.col ? { startColumn: p.col } : {}) });
      core.setFailed(`entitlegate: ${err.describe()}`);
    } else {
      core.setFailed(`entitlegate: internal error: ${(err as Error)?.message ?? String(err)}`);
      if (err instanceof Error && err.stack) core.debug(err.stack);
    }
  }
}
