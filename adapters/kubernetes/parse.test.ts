import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EntitlegateError } from '../../engine/errors.ts';
import { isAdmissionReview, isKubernetesObject, parseKubernetes } from './parse.ts';

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

function parseError(text: string, file: string): EntitlegateError {
  try {
    parseKubernetes(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(EntitlegateError);
    return e as EntitlegateError;
  }
  throw new Error('expected a parse error');
}

describe('parseKubernetes', () => {
  it('reads helm template output: skips comments and empty documents, lines point at each object', () => {
    const objects = parseKubernetes(fixture('helm.yaml'), 'chart.yaml');
    expect(objects.map((o) => [o.object.kind, o.file, o.line])).toEqual([
      ['ServiceAccount', 'chart.yaml', 3],
      ['StatefulSet', 'chart.yaml', 11],
    ]);
  });

  it('flattens a kind: List into its items, with each item line', () => {
    const objects = parseKubernetes(fixture('list.yaml'), 'list.yaml');
    expect(objects.map((o) => [o.object.kind, (o.object.metadata as { name: string }).name, o.line])).toEqual([
      ['Deployment', 'a', 4],
      ['Pod', 'b', 17],
    ]);
  });

  it('reads a typed JSON list and gives items the kind and apiVersion the list implies', () => {
    const objects = parseKubernetes(fixture('list.json'), 'list.json');
    expect(objects.map((o) => [o.object.apiVersion, o.object.kind, o.line])).toEqual([
      ['apps/v1', 'Deployment', 5],
      ['apps/v1', 'Deployment', 11],
    ]);
  });

  it('reads multi-document YAML with document start markers and comments', () => {
    const text =
      '# leading comment\napiVersion: v1\nkind: Pod\nmetadata: {name: one}\n---\n\n---\n# c\napiVersion: v1\nkind: Pod\nmetadata: {name: two}\n...\n';
    expect(parseKubernetes(text, 'm.yaml').map((o) => o.line)).toEqual([2, 9]);
  });

  it('returns nothing for an empty file', () => {
    expect(parseKubernetes('', 'e.yaml')).toEqual([]);
    expect(parseKubernetes('# only a comment\n---\n', 'e.yaml')).toEqual([]);
  });

  it('reports malformed YAML with file:line:col', () => {
    const e = parseError(fixture('bad.yaml'), 'k8s/bad.yaml');
    expect(e.code).toBe('EG_ERR_INPUT_INVALID');
    expect(e.problems[0]).toMatchObject({ file: 'k8s/bad.yaml', line: 7 });
    expect(e.message).toMatch(/^k8s\/bad\.yaml:7:\d+ invalid YAML: /);
    expect(e.message).not.toContain('\n');
  });

  it('reports malformed JSON with file:line:col, even where YAML would accept it', () => {
    const e = parseError(fixture('bad.json'), 'pod.json');
    expect(e.problems[0]).toMatchObject({ file: 'pod.json', line: 4 });
    expect(e.message).toMatch(/^pod\.json:4:\d+ invalid JSON/);
  });

  it('refuses duplicate keys and unresolved aliases', () => {
    expect(parseError('apiVersion: v1\nkind: Pod\nkind: Service\n', 'd.yaml').message).toMatch(
      /^d\.yaml:3:1 invalid YAML: Map keys must be unique/,
    );
    expect(parseError('apiVersion: v1\nkind: *nothing\n', 'a.yaml').message).toMatch(/^a\.yaml:\d+(:\d+)? invalid YAML: .*alias/i);
  });

  it('refuses a document that is not a Kubernetes object, at its line', () => {
    const e = parseError('apiVersion: v1\nkind: Pod\n---\nreplicas: 3\n', 'values.yaml');
    expect(e.message).toBe('values.yaml:4 not a Kubernetes object: apiVersion and kind are required');
  });
});

describe('detection', () => {
  it('recognises Kubernetes objects by apiVersion and kind', () => {
    expect(isKubernetesObject({ apiVersion: 'v1', kind: 'Pod' })).toBe(true);
    expect(isKubernetesObject({ apiVersion: 'v1' })).toBe(false);
    expect(isKubernetesObject({ apiVersion: '', kind: 'Pod' })).toBe(false);
    expect(isKubernetesObject({ claims: [] })).toBe(false);
    expect(isKubernetesObject([{ apiVersion: 'v1', kind: 'Pod' }])).toBe(false);
    expect(isKubernetesObject(null)).toBe(false);
  });

  it('recognises AdmissionReviews', () => {
    expect(isAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} })).toBe(true);
    expect(isAdmissionReview({ apiVersion: 'v1', kind: 'AdmissionReview' })).toBe(false);
    expect(isAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' })).toBe(false);
  });
});
