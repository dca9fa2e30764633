// The webhook's settings module and the composed config schema
// (config/schema.ts) say the same thing about each webhook field: the
// composition keeps the file users write.
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { config, kubernetesSettings, terraformSettings } from '../config/schema.ts';
import { admissionSettings, admissionSettingsFields, runTaskSettings, runTaskSettingsFields } from './settings.ts';

type JsonSchema = { properties: Record<string, unknown> };
const properties = (schema: z.ZodMiniType): Record<string, unknown> =>
  (z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as unknown as JsonSchema).properties;

describe('webhook settings', () => {
  it('each webhook field is the config schema field of the same name (JSON Schema and defaults)', () => {
    const pairs = [
      [admissionSettings, kubernetesSettings, Object.keys(admissionSettingsFields)],
      [runTaskSettings, terraformSettings, Object.keys(runTaskSettingsFields)],
    ] as const;
    for (const [mine, composed, keys] of pairs) {
      const a = properties(mine);
      const b = properties(composed);
      for (const key of keys) expect(a[key], key).toEqual(b[key]);
    }
    expect(z.parse(admissionSettings, {})).toEqual({ failOpenNamespaces: [], reservationTTLSeconds: 120 });
    const defaults = z.parse(config, { version: 1 });
    expect(defaults.kubernetes).toMatchObject(z.parse(admissionSettings, {}));
  });

  it('refuses what the config refuses', () => {
    expect(z.safeParse(admissionSettings, { reservationTTLSeconds: 0 }).success).toBe(false);
    expect(z.safeParse(admissionSettings, { sharedReservations: { namespace: 'Not_A_Namespace' } }).success).toBe(false);
    expect(z.safeParse(runTaskSettings, { runTaskHosts: [] }).success).toBe(false);
    expect(z.safeParse(runTaskSettings, { runTaskScope: { planet: 'mars' } }).success).toBe(false);
  });
});
