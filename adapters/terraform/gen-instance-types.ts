// Regenerates instance-types.json: `node adapters/terraform/gen-instance-types.ts`.
// The vendors publish size tables per family; almost all of them follow the
// same size→vCPU rule, so the table is written as families × sizes here and
// the exceptions spelled out, which is easier to review than 1,500 JSON lines.
import { writeFileSync } from 'node:fs';

const table: Record<string, number> = {};
const put = (name: string, vcpu: number): void => {
  table[name] = vcpu;
};

// ---- AWS EC2 (and RDS db.* classes, which mirror the EC2 family sizes) ----
// Nitro rule: large = 2 vCPU, xlarge = 4, Nxlarge = 4N; Graviton "medium" = 1.
function awsSize(size: string): number {
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const m = /^(\d+)xlarge$/.exec(size);
  if (!m) throw new Error(`no rule for size ${size}`);
  return 4 * Number(m[1]);
}
const std = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];
const gen6 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'];
const gen7 = [...gen6, '48xlarge'];
const grav = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const awsFamilies: Record<string, { sizes: string[]; metal?: number }> = {
  m4: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '10xlarge', '16xlarge'] },
  m5: { sizes: std, metal: 96 },
  m5a: { sizes: std },
  m5d: { sizes: std, metal: 96 },
  m5n: { sizes: std, metal: 96 },
  m6i: { sizes: gen6, metal: 128 },
  m6id: { sizes: gen6, metal: 128 },
  m6a: { sizes: [...gen6, '48xlarge'], metal: 192 },
  m6g: { sizes: grav, metal: 64 },
  m6gd: { sizes: grav, metal: 64 },
  m7i: { sizes: gen7, metal: 192 },
  m7a: { sizes: ['medium', ...gen7], metal: 192 },
  m7g: { sizes: grav, metal: 64 },
  m8g: { sizes: [...grav, '24xlarge', '48xlarge'], metal: 192 },
  c4: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'] },
  c5: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'], metal: 96 },
  c5a: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'] },
  c5d: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'], metal: 96 },
  c5n: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '18xlarge'], metal: 72 },
  c6i: { sizes: gen6, metal: 128 },
  c6id: { sizes: gen6, metal: 128 },
  c6a: { sizes: [...gen6, '48xlarge'], metal: 192 },
  c6g: { sizes: grav, metal: 64 },
  c6gd: { sizes: grav, metal: 64 },
  c6gn: { sizes: grav },
  c7i: { sizes: gen7, metal: 192 },
  c7a: { sizes: ['medium', ...gen7], metal: 192 },
  c7g: { sizes: grav, metal: 64 },
  c8g: { sizes: [...grav, '24xlarge', '48xlarge'], metal: 192 },
  r4: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'] },
  r5: { sizes: std, metal: 96 },
  r5a: { sizes: std },
  r5b: { sizes: std, metal: 96 },
  r5d: { sizes: std, metal: 96 },
  r5n: { sizes: std, metal: 96 },
  r6i: { sizes: gen6, metal: 128 },
  r6id: { sizes: gen6, metal: 128 },
  r6a: { sizes: [...gen6, '48xlarge'], metal: 192 },
  r6g: { sizes: grav, metal: 64 },
  r6gd: { sizes: grav, metal: 64 },
  r7i: { sizes: gen7, metal: 192 },
  r7a: { sizes: ['medium', ...gen7], metal: 192 },
  r7g: { sizes: grav, metal: 64 },
  r8g: { sizes: [...grav, '24xlarge', '48xlarge'], metal: 192 },
  x2idn: { sizes: ['16xlarge', '24xlarge', '32xlarge'], metal: 128 },
  x2iedn: { sizes: ['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '24xlarge', '32xlarge'], metal: 128 },
  x2iezn: { sizes: ['2xlarge', '4xlarge', '6xlarge', '8xlarge', '12xlarge'], metal: 48 },
  z1d: { sizes: ['large', 'xlarge', '2xlarge', '3xlarge', '6xlarge', '12xlarge'], metal: 48 },
  i3: { sizes: ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'], metal: 72 },
  i4i: { sizes: gen6, metal: 128 },
};
for (const [family, { sizes, metal }] of Object.entries(awsFamilies)) {
  for (const s of sizes) put(`${family}.${s}`, awsSize(s));
  if (metal) put(`${family}.metal`, metal);
}
// x1 / x1e: 16xlarge = 64, 32xlarge = 128; x1e also smaller sizes on the 4N rule.
put('x1.16xlarge', 64);
put('x1.32xlarge', 128);
for (const s of ['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '32xlarge']) put(`x1e.${s}`, awsSize(s));
// Burstable families: small sizes carry whole vCPUs that differ from the rule.
const t2 = { nano: 1, micro: 1, small: 1, medium: 2, large: 2, xlarge: 4, '2xlarge': 8 };
const t3 = { nano: 2, micro: 2, small: 2, medium: 2, large: 2, xlarge: 4, '2xlarge': 8 };
for (const [s, v] of Object.entries(t2)) put(`t2.${s}`, v);
for (const fam of ['t3', 't3a', 't4g']) for (const [s, v] of Object.entries(t3)) put(`${fam}.${s}`, v);
// RDS classes are the EC2 family sizes prefixed with "db." for the families RDS offers.
const rdsFamilies = [
  'm5',
  'm5d',
  'm6i',
  'm6id',
  'm6g',
  'm6gd',
  'm7i',
  'm7g',
  'm8g',
  'r5',
  'r5b',
  'r5d',
  'r6i',
  'r6id',
  'r6g',
  'r6gd',
  'r7i',
  'r7g',
  'r8g',
  'x2idn',
  'x2iedn',
  'x2iezn',
  'z1d',
  't3',
  't4g',
  'm4',
  'r4',
  't2',
  'x1',
  'x1e',
];
for (const fam of rdsFamilies) {
  for (const [name, v] of Object.entries(table)) if (name.startsWith(`${fam}.`) && !name.endsWith('.metal')) put(`db.${name}`, v);
}

// ---- Azure VM sizes (the number in the name is the vCPU count) ----
// Constrained-vCPU sizes (Standard_E16-4s_v5) expose the smaller number, which
// is what vCPU-licensed software (Oracle, SQL Server) is counted on.
const azureSeries: Record<string, number[]> = {
  'D{n}_v3': [2, 4, 8, 16, 32, 48, 64],
  'D{n}s_v3': [2, 4, 8, 16, 32, 48, 64],
  'D{n}_v4': [2, 4, 8, 16, 32, 48, 64],
  'D{n}s_v4': [2, 4, 8, 16, 32, 48, 64],
  'D{n}ds_v4': [2, 4, 8, 16, 32, 48, 64],
  'D{n}_v5': [2, 4, 8, 16, 32, 48, 64, 96],
  'D{n}s_v5': [2, 4, 8, 16, 32, 48, 64, 96],
  'D{n}ds_v5': [2, 4, 8, 16, 32, 48, 64, 96],
  'D{n}as_v5': [2, 4, 8, 16, 32, 48, 64, 96],
  'D{n}ads_v5': [2, 4, 8, 16, 32, 48, 64, 96],
  'D{n}ps_v5': [2, 4, 8, 16, 32, 48, 64],
  'D{n}s_v6': [2, 4, 8, 16, 32, 48, 64, 96, 128, 192],
  'D{n}ds_v6': [2, 4, 8, 16, 32, 48, 64, 96, 128, 192],
  'E{n}_v3': [2, 4, 8, 16, 20, 32, 48, 64],
  'E{n}s_v3': [2, 4, 8, 16, 20, 32, 48, 64],
  'E{n}_v4': [2, 4, 8, 16, 20, 32, 48, 64],
  'E{n}s_v4': [2, 4, 8, 16, 20, 32, 48, 64],
  'E{n}ds_v4': [2, 4, 8, 16, 20, 32, 48, 64, 80],
  'E{n}_v5': [2, 4, 8, 16, 20, 32, 48, 64, 96, 104],
  'E{n}s_v5': [2, 4, 8, 16, 20, 32, 48, 64, 96, 104],
  'E{n}ds_v5': [2, 4, 8, 16, 20, 32, 48, 64, 96, 104],
  'E{n}as_v5': [2, 4, 8, 16, 20, 32, 48, 64, 96, 112],
  'E{n}ads_v5': [2, 4, 8, 16, 20, 32, 48, 64, 96, 112],
  'E{n}s_v6': [2, 4, 8, 16, 20, 32, 48, 64, 96, 128, 192],
  'F{n}s_v2': [2, 4, 8, 16, 32, 48, 64, 72],
  'F{n}': [1, 2, 4, 8, 16],
  'F{n}s': [1, 2, 4, 8, 16],
  'M{n}s': [8, 16, 32, 64, 128],
  'M{n}ms': [8, 16, 32, 64, 128],
  'L{n}s_v3': [8, 16, 32, 48, 64, 80],
};
for (const [pattern, counts] of Object.entries(azureSeries)) {
  for (const n of counts) put(`Standard_${pattern.replace('{n}', String(n))}`, n);
}
const azureB: Record<string, number> = {
  B1ls: 1,
  B1s: 1,
  B1ms: 1,
  B2s: 2,
  B2ms: 2,
  B4ms: 4,
  B8ms: 8,
  B12ms: 12,
  B16ms: 16,
  B20ms: 20,
  B2ts_v2: 2,
  B2ls_v2: 2,
  B2s_v2: 2,
  B4ls_v2: 4,
  B4s_v2: 4,
  B8ls_v2: 8,
  B8s_v2: 8,
  B16ls_v2: 16,
  B16s_v2: 16,
  B32ls_v2: 32,
  B32s_v2: 32,
  A1_v2: 1,
  A2_v2: 2,
  A4_v2: 4,
  A8_v2: 8,
  A2m_v2: 2,
  A4m_v2: 4,
  A8m_v2: 8,
};
for (const [s, v] of Object.entries(azureB)) put(`Standard_${s}`, v);
// Constrained vCPU sizes: Standard_E{n}-{active}s_v{4,5}, Standard_M{n}-{active}ms.
const constrained: [string, number][] = [
  ['E4-2s_v4', 2],
  ['E8-2s_v4', 2],
  ['E8-4s_v4', 4],
  ['E16-4s_v4', 4],
  ['E16-8s_v4', 8],
  ['E32-8s_v4', 8],
  ['E32-16s_v4', 16],
  ['E64-16s_v4', 16],
  ['E64-32s_v4', 32],
  ['E4-2s_v5', 2],
  ['E8-2s_v5', 2],
  ['E8-4s_v5', 4],
  ['E16-4s_v5', 4],
  ['E16-8s_v5', 8],
  ['E32-8s_v5', 8],
  ['E32-16s_v5', 16],
  ['E64-16s_v5', 16],
  ['E64-32s_v5', 32],
  ['E96-24s_v5', 24],
  ['E96-48s_v5', 48],
  ['E4-2ds_v5', 2],
  ['E8-2ds_v5', 2],
  ['E8-4ds_v5', 4],
  ['E16-4ds_v5', 4],
  ['E16-8ds_v5', 8],
  ['E32-8ds_v5', 8],
  ['E32-16ds_v5', 16],
  ['E64-16ds_v5', 16],
  ['E64-32ds_v5', 32],
  ['M64-16ms', 16],
  ['M64-32ms', 32],
  ['M128-32ms', 32],
  ['M128-64ms', 64],
];
for (const [s, v] of constrained) put(`Standard_${s}`, v);

// ---- GCP machine types (the suffix is the vCPU count; shared-core listed) ----
const gcp: Record<string, number[]> = {
  'e2-standard': [2, 4, 8, 16, 32],
  'e2-highmem': [2, 4, 8, 16],
  'e2-highcpu': [2, 4, 8, 16, 32],
  'n1-standard': [1, 2, 4, 8, 16, 32, 64, 96],
  'n1-highmem': [2, 4, 8, 16, 32, 64, 96],
  'n1-highcpu': [2, 4, 8, 16, 32, 64, 96],
  'n2-standard': [2, 4, 8, 16, 32, 48, 64, 80, 96, 128],
  'n2-highmem': [2, 4, 8, 16, 32, 48, 64, 80, 96, 128],
  'n2-highcpu': [2, 4, 8, 16, 32, 48, 64, 80, 96],
  'n2d-standard': [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224],
  'n2d-highmem': [2, 4, 8, 16, 32, 48, 64, 80, 96],
  'n2d-highcpu': [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224],
  'n4-standard': [2, 4, 8, 16, 32, 48, 64, 80],
  'n4-highmem': [2, 4, 8, 16, 32, 48, 64, 80],
  'n4-highcpu': [2, 4, 8, 16, 32, 48, 64, 80],
  'c2-standard': [4, 8, 16, 30, 60],
  'c2d-standard': [2, 4, 8, 16, 32, 56, 112],
  'c3-standard': [4, 8, 22, 44, 88, 176],
  'c3-highmem': [4, 8, 22, 44, 88, 176],
  'c3-highcpu': [4, 8, 22, 44, 88, 176],
  'c3d-standard': [4, 8, 16, 30, 60, 90, 180, 360],
  'c4-standard': [2, 4, 8, 16, 32, 48, 96, 192],
  't2d-standard': [1, 2, 4, 8, 16, 32, 48, 60],
  't2a-standard': [1, 2, 4, 8, 16, 32, 48],
  'm1-megamem': [96],
  'm1-ultramem': [40, 80, 160],
  'm2-ultramem': [208, 416],
  'm3-ultramem': [32, 64, 128],
  'm3-megamem': [64, 128],
};
for (const [prefix, counts] of Object.entries(gcp)) for (const n of counts) put(`${prefix}-${n}`, n);
for (const [s, v] of Object.entries({ 'e2-micro': 2, 'e2-small': 2, 'e2-medium': 2, 'f1-micro': 1, 'g1-small': 1 })) put(s, v);

const out = {
  $comment:
    'Instance type / VM size / machine type → vCPU, generated by gen-instance-types.ts. Override or extend entries with `terraform.instanceTypes` in the config. GCP custom machine types (custom-4-16384, n2-custom-8-32768) are read from their name and need no entry.',
  sources: [
    { provider: 'aws', what: 'EC2 instance types', url: 'https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html' },
    {
      provider: 'aws',
      what: 'EC2 instance specifications (vCPU per size)',
      url: 'https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html',
    },
    {
      provider: 'aws',
      what: 'RDS DB instance classes (vCPU per class)',
      url: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html',
    },
    {
      provider: 'azure',
      what: 'Sizes for virtual machines in Azure',
      url: 'https://learn.microsoft.com/azure/virtual-machines/sizes/overview',
    },
    { provider: 'azure', what: 'Constrained vCPU sizes', url: 'https://learn.microsoft.com/azure/virtual-machines/constrained-vcpu' },
    {
      provider: 'gcp',
      what: 'Machine families resource and comparison guide',
      url: 'https://cloud.google.com/compute/docs/machine-resource',
    },
  ],
  vcpu: Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
};
writeFileSync(new URL('./instance-types.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`${Object.keys(table).length} entries`);
