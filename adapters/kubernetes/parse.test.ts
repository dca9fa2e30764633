import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EntitlegateError } from '../../engine/errors.ts';
import { claimsFromObjects } from './claims.ts';
import { isAdmissionReview, isKubernetesObject, looksLikeKubernetesText, parseKubernetes } from './parse.ts';
import { products } from './test-objects.ts';

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

  it('reads YAML as kubectl does: merge keys, JSON flow documents after ---, CRLF line ends', () => {
    const merged = [
      'x-defaults: &db',
      '  image: container-registry.oracle.com/database/enterprise:21',
      '  resources: { limits: { cpu: "4" } }',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: db, namespace: prod }',
      'spec:',
      '  replicas: 2',
      '  template:',
      '    spec:',
      '      containers:',
      '        - <<: *db',
      '          name: db',
    ].join('\n');
    const json =
      '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "j", "namespace": "prod"}, "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "db", "image": "container-registry.oracle.com/database/enterprise:21", "resources": {"limits": {"cpu": "1"}}}]}}}}';
    const stream = `${merged}\n---\n${json}\n---\n${json.replace('"j"', '"k"')}\n`;
    for (const text of [stream, stream.replace(/\n/g, '\r\n')]) {
      const objects = parseKubernetes(text, 'mixed.yaml');
      expect(objects.map((o) => [(o.object.metadata as { name: string }).name, o.line])).toEqual([
        ['db', 1],
        ['j', 15],
        ['k', 17],
      ]);
      const claims = claimsFromObjects(objects, { products });
      expect(claims.map((c) => [c.resource?.name, c.quantity])).toEqual([
        ['db', 8],
        ['j', 3],
        ['k', 3],
      ]);
      expect(JSON.stringify(objects)).not.toContain('\\r');
    }
    // A stream that starts with a JSON document is YAML too once it has a --- marker
    expect(parseKubernetes(`${json}\n---\n${json.replace('"j"', '"k"')}`, 'j.yaml')).toHaveLength(2);
  });

  it('tells Kubernetes text apart, JSON flow documents after --- included', () => {
    expect(looksLikeKubernetesText('apiVersion: v1\nkind: Pod\n')).toBe(true);
    expect(looksLikeKubernetesText('# c\r\nkind: Pod\r\napiVersion: v1\r\n')).toBe(true);
    expect(looksLikeKubernetesText('---\n{"apiVersion": "v1", "kind": "Pod"}\n')).toBe(true);
    expect(looksLikeKubernetesText('version: 1\nusage: []\n')).toBe(false);
  });
});
