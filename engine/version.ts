// The tool's version: one number in every decision's provenance, in SARIF,
// JUnit, /metrics and the run task's result, so a record says which
// entitlegate made it. A constant rather than an import of package.json: the
// compiled package and the Action bundle have no package.json of ours beside
// them to read at run time (engine/version.test.ts keeps the two equal).
export const VERSION = '0.1.0';
