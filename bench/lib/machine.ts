// What the figures were measured on: they mean little without it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release, arch } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  opa: string | null;
  date: string;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function osName(): string {
  try {
    const pretty = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1];
    if (pretty) return `${pretty} (${osType()} ${release()} ${arch()})`;
  } catch {
    // no os-release
  }
  return `${osType()} ${release()} ${arch()}`;
}

export function opaVersion(opa: string | null): string | null {
  if (!opa) return null;
  try {
    const out = execFileSync(opa, ['version'], { encoding: 'utf8' });
    return out.match(/^Version:\s*(\S+)/m)?.[1] ?? out.split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

export function machineInfo(opa: string | null): MachineInfo {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    node: process.version,
    opa: opaVersion(opa),
    date: new Date().toISOString(),
  };
}
