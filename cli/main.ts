#!/usr/bin/env node
// Node's on-disk compile cache (Node >= 22.1) before anything else is loaded:
// a `check` in CI is one short process, and compiling its modules was most of
// its start-up. The rest is imported once the cache is on.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { processIo } = await import('./io.ts');
const { run } = await import('./run.ts');
process.exitCode = await run(process.argv.slice(2), processIo);
