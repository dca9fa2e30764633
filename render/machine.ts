// GitHub workflow commands, and the located findings that SARIF and the
// Action's annotations share.
import type { Decision, Finding } from '../engine/types.ts';
import { findingTitle, locations } from './common.ts';

interface Located {
  finding: Finding;
  level: 'error' | 'warning';
  file?: string;
  line?: number;
}

/** Each finding once per resource, with the file and line where it was declared. */
export function locatedFindings(d: Decision): Located[] {
  const where = locations(d);
  const out: Located[] = [];
  const add = (finding: Finding, level: Located['level']) => {
    const spots = finding.resources.map((r) => where.get(r)).filter((w): w is string => !!w);
    if (!spots.length) out.push({ finding, level });
    for (const spot of new Set(spots)) {
      const m = /^(.*):(\d+)$/.exec(spot);
      out.push(m ? { finding, level, file: m[1]!, line: Number(m[2]) } : { finding, level, file: spot });
    }
  };
  for (const f of d.violations) add(f, d.allowed ? 'warning' : 'error');
  for (const f of d.warnings) add(f, 'warning');
  return out;
}

const escData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escProp = (s: string) => escData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function decisionGithub(d: Decision): string {
  return (
    locatedFindings(d)
      .map(({ finding, level, file, line }) => {
        const props = [file && `file=${escProp(file)}`, line && `line=${line}`, `title=${escProp(findingTitle(finding))}`]
          .filter(Boolean)
          .join(',');
        return `::${level} ${props}::${escData(finding.message)}`;
      })
      .join('\n') + '\n'
  );
}
