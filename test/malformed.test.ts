// Bad input: each malformed config, usage snapshot and claims file gives
// exit 2 and a message naming the file and line, and never a stack trace.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliProcess, tempFiles } from './cli-harness.ts';

const goodConfig = `version: 1
products:
  - id: ora
    metric: vcpu
entitlements:
  - id: E1
    product: ora
    model: subscription
    quantity: 64
`;
const goodUsage = `version: 1
source: sam
observedAt: 2026-11-28T06:00:00Z
usage:
  - product: ora
    quantity: 4
`;
const goodClaims = `{"claims": [{"product": "ora", "quantity": 2, "scope": {"environment": "prod"}}]}`;

// [name, text, expected "file:line" (line of the problem), expected words]
const configs: [string, string, number, RegExp][] = [
  ['unterminated flow sequence', 'version: 1\nproducts: [\n', 3, /YAML|flow/i],
  ['empty file', '', 1, /empty/],
  ['wrong version', 'version: 2\n', 1, /version/],
  ['unknown top-level key', goodConfig + 'entitlement: []\n', 10, /unknown key "entitlement"/],
  ['unknown product key', goodConfig.replace('metric: vcpu', 'metric: vcpu\n    metrc: vcpu'), 5, /unknown key "metrc"/],
  ['quantity not a number', goodConfig.replace('quantity: 64', 'quantity: sixty'), 9, /quantity/],
  ['negative quantity', goodConfig.replace('quantity: 64', 'quantity: -4'), 9, /quantity/],
  ['unknown metric', goodConfig.replace('metric: vcpu', 'metric: cores'), 4, /metric/],
  ['unknown model', goodConfig.replace('model: subscription', 'model: lease'), 8, /model/],
  [
    'duplicate product id',
    goodConfig.replace('entitlements:', '  - id: ora\n    metric: users\nentitlements:'),
    5,
    /duplicate product id "ora"/,
  ],
  [
    'duplicate entitlement id',
    goodConfig + '  - id: E1\n    product: ora\n    model: perpetual\n    quantity: 1\n',
    10,
    /duplicate id "E1"/,
  ],
  ['unknown product reference', goodConfig.replace('product: ora', 'product: oracle'), 7, /unknown product "oracle"/],
  [
    'self-approved exception',
    goodConfig +
      'exceptions:\n  - id: X1\n    product: ora\n    quantity: 2\n    until: 2026-12-01\n    reason: test\n    requestedBy: alice\n    approvedBy: Alice\n',
    17,
    /approved by its own requester/,
  ],
  [
    'validFrom after validUntil',
    goodConfig + '    validFrom: 2027-01-01\n    validUntil: 2026-01-01\n',
    10,
    /validFrom 2027-01-01 is not before the end of validUntil/,
  ],
  ['impossible date', goodConfig + '    validUntil: 2026-13-45\n', 10, /date/],
  [
    'exception without reason',
    goodConfig +
      'exceptions:\n  - id: X1\n    product: ora\n    quantity: 2\n    until: 2026-12-01\n    requestedBy: alice\n    approvedBy: bob\n',
    11,
    /reason/,
  ],
  ['warnAt above 1', 'version: 1\ndefaults:\n  warnAt: 1.5\n', 3, /warnAt/],
  ['unlicensed neither deny nor warn', 'version: 1\ndefaults:\n  unlicensed: maybe\n', 3, /unlicensed/],
  ['unknown scope dimension', goodConfig + '    scope: { zone: [a] }\n', 10, /unknown key "zone"/],
  ['duplicate YAML key', goodConfig.replace('quantity: 64', 'quantity: 64\n    quantity: 32'), 10, /unique|duplicate/i],
  ['products not a list', 'version: 1\nproducts: { id: ora }\n', 2, /products/],
  ['JSON config with a syntax error', '{"version": 1, "products": [}', 1, /.+/],
  ['graceDays fractional', goodConfig + '    graceDays: 1.5\n', 10, /graceDays/],
  ['currency not ISO 4217', goodConfig + '    contract: { currency: dollars }\n', 10, /currency/],
];

const usages: [string, string, number, RegExp][] = [
  ['missing source', goodUsage.replace('source: sam\n', ''), 1, /source/],
  ['missing observedAt', goodUsage.replace('observedAt: 2026-11-28T06:00:00Z\n', ''), 1, /observedAt/],
  ['observedAt not a date', goodUsage.replace('2026-11-28T06:00:00Z', 'yesterday'), 3, /observedAt/],
  ['negative quantity', goodUsage.replace('quantity: 4', 'quantity: -4'), 6, /quantity/],
  ['unknown product', goodUsage.replace('product: ora', 'product: sap'), 5, /unknown product "sap"/],
  ['usage not a list', 'version: 1\nsource: s\nobservedAt: 2026-11-28\nusage: 4\n', 4, /usage/],
  ['unknown key', goodUsage + 'note: hi\n', 7, /unknown key "note"/],
  ['wrong version', goodUsage.replace('version: 1', 'version: 3'), 1, /version/],
  ['bad YAML', 'version: 1\nsource: "unterminated\n', 3, /YAML|quote|unterminated/i],
  ['empty file', '', 1, /empty/],
  ['quantity a string', goodUsage.replace('quantity: 4', 'quantity: four'), 6, /quantity/],
  ['unknown scope dimension', goodUsage + '    scope: { datacenter: x }\n', 7, /unknown key "datacenter"/],
  ['scope value a list', goodUsage + '    scope: { environment: [prod] }\n', 7, /environment/],
  ['duplicate key', goodUsage.replace('source: sam', 'source: sam\nsource: cmdb'), 3, /unique|duplicate/i],
  ['record missing product', goodUsage.replace('  - product: ora\n    quantity: 4', '  - quantity: 4'), 5, /product/],
  ['record missing quantity', goodUsage.replace('    quantity: 4\n', ''), 5, /quantity/],
  ['empty source', goodUsage.replace('source: sam', 'source: ""'), 2, /source/],
  ['a list instead of a document', '- product: ora\n  quantity: 4\n', 1, /expected object|object/],
  ['tab indentation', 'version: 1\nsource: sam\nobservedAt: 2026-11-28\nusage:\n\t- product: ora\n', 5, /tab|indent|YAML/i],
  ['observedAt impossible', goodUsage.replace('2026-11-28T06:00:00Z', '2026-02-30T06:00:00Z'), 3, /date/],
];

const claimFiles: [string, string, number, RegExp][] = [
  ['quantity a string', goodClaims.replace('"quantity": 2', '"quantity": "2"'), 1, /quantity/],
  ['unknown product', goodClaims.replace('"product": "ora"', '"product": "sap"'), 1, /unknown product "sap"/],
  ['missing product', goodClaims.replace('"product": "ora", ', ''), 1, /product/],
  ['unknown key', goodClaims.replace('"quantity": 2', '"quantity": 2, "qty": 3'), 1, /unknown key "qty"/],
  ['peak below quantity', goodClaims.replace('"quantity": 2', '"quantity": 2, "peak": 1'), 1, /peak 1 is below quantity 2/],
  ['scope value a number', goodClaims.replace('"environment": "prod"', '"environment": 7'), 1, /environment/],
  ['resource without kind', goodClaims.replace('"quantity": 2', '"quantity": 2, "resource": {"name": "x"}'), 1, /kind/],
  ['line zero', goodClaims.replace('"quantity": 2', '"quantity": 2, "resource": {"kind": "Pod", "name": "x", "line": 0}'), 1, /line/],
  ['claims not a list is no known input', '{"claims": 3}', 1, /not an input entitlegate reads/],
  ['truncated JSON', goodClaims.slice(0, 30), 1, /the JSON ends early/],
  ['a syntax error names its line', '{\n  "claims": [\n    {"product": "ora",, "quantity": 1}\n  ]\n}\n', 3, /invalid JSON/],
  [
    'multi-line file names the line',
    '{\n  "claims": [\n    {\n      "product": "ora",\n      "quantity": true\n    }\n  ]\n}\n',
    5,
    /quantity/,
  ],
  [
    'second claim bad',
    '{"claims": [\n{"product": "ora", "quantity": 1},\n{"product": "ora", "quantity": -1, "scope": {"cluster": 1}}\n]}',
    3,
    /cluster/,
  ],
  ['unknown dimension in scope', goodClaims.replace('"environment": "prod"', '"zone": "a"'), 1, /unknown key "zone"/],
  ['quantity Infinity-like', goodClaims.replace('"quantity": 2', '"quantity": 1e999'), 1, /quantity/],
  ['unknown top-level key', goodClaims.replace('{"claims"', '{"extra": 1, "claims"'), 1, /unknown key "extra"/],
  ['a YAML list is no known input', '- a\n- b\n', 1, /not an input entitlegate reads/],
  ['plain text is no known input', 'hello world\n', 1, /not an input entitlegate reads/],
  ['null product', goodClaims.replace('"product": "ora"', '"product": null'), 1, /product/],
  ['peak not a number', goodClaims.replace('"quantity": 2', '"quantity": 2, "peak": "x"'), 1, /peak/],
  [
    'resource line negative',
    goodClaims.replace('"quantity": 2', '"quantity": 2, "resource": {"kind": "Pod", "name": "x", "line": -3}'),
    1,
    /line/,
  ],
];

function expectBadInput(r: { code: number; stderr: string; stdout: string }, at: string, words: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain(at);
  expect(r.stderr).toMatch(words);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack frames
  expect(r.stdout).toBe('');
}

describe('malformed configs', () => {
  it.each(configs)('%s', async (_name, text, line, words) => {
    const dir = tempFiles({ 'bad.yaml': text });
    const file = join(dir, 'bad.yaml');
    expectBadInput(await cli(['validate', '--config', file]), `${file}:${line}`, words);
  });
});

describe('malformed usage snapshots', () => {
  it.each(usages)('%s', async (_name, text, line, words) => {
    const dir = tempFiles({ 'config.yaml': goodConfig, 'usage.yaml': text });
    const file = join(dir, 'usage.yaml');
    expectBadInput(await cli(['validate', '--config', join(dir, 'config.yaml'), '--usage', file]), `${file}:${line}`, words);
  });
});

describe('malformed claims files', () => {
  it.each(claimFiles)('%s', async (_name, text, line, words) => {
    const dir = tempFiles({ 'config.yaml': goodConfig, 'claims.json': text });
    const file = join(dir, 'claims.json');
    expectBadInput(await cli(['check', file, '--config', join(dir, 'config.yaml')]), `${file}:${line}`, words);
  });
});

describe('bad input as a real process', () => {
  it('exits 2 with every problem of a config listed, and no stack trace', () => {
    const dir = tempFiles({
      'bad.yaml': goodConfig.replace('metric: vcpu', 'metric: cores').replace('quantity: 64', 'quantity: -1') + 'extra: 1\n',
    });
    const r = cliProcess(['validate', '--config', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('3 problems');
    expect(r.stderr).toContain('bad.yaml:4:');
    expect(r.stderr).toContain('bad.yaml:9:');
    expect(r.stderr).toContain('bad.yaml:10:1 unknown key "extra"');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('exits 2 on a missing file and on a wrong flag', () => {
    expect(cliProcess(['check', 'nope.json', '--config', 'examples/entitlegate.yaml']).code).toBe(2);
    const flag = cliProcess(['check', '--config', 'examples/entitlegate.yaml', '--colour', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/colour/);
  });

  it('evaluates nothing when one of several inputs is bad', () => {
    const dir = tempFiles({ 'bad.json': '{"claims": [{"product": "nope", "quantity": 1}]}' });
    const r = cliProcess([
      'check',
      'examples/claims/over.json',
      join(dir, 'bad.json'),
      '--config',
      'examples/entitlegate.yaml',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
