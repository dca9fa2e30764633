// What the bundled CLI (dist/bin/cli.cjs) exports to its launcher (cli/launcher.ts).
export { processIo } from './io.ts';
export { run } from './run.ts';
