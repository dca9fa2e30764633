import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { VERSION } from './version.ts';

describe('VERSION', () => {
  it("is package.json's version (bump engine/version.ts together with package.json)", () => {
    expect(VERSION).toBe(pkg.version);
  });
});
