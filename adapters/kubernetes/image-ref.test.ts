import { describe, expect, it } from 'vitest';
import type { Product } from './settings.ts';
import { parseImageRef } from './image-ref.ts';
import { matchProducts } from './match.ts';
import { workload } from './test-objects.ts';
import { podTemplate } from './workload.ts';

// A fresh product per call: compiled matchers are cached per product object.
const product = (images: string[]): Product => ({ id: 'p', metric: 'vcpu', match: { kubernetes: { images } } });
const matches = (pattern: string, image: string) =>
  matchProducts(podTemplate(workload({ containers: [{ image, limit: '1' }] }))!, [product([pattern])]).length === 1;

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;

describe('image references, normalised as the runtime resolves them', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['index.docker.io/library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['registry-1.docker.io/library/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io:443/nginx', 'docker.io', 'library/nginx', 'latest', undefined],
    ['DOCKER.IO/oracle/database', 'docker.io', 'oracle/database', 'latest', undefined],
    ['Quay.IO:443/org/app:1', 'quay.io', 'org/app', '1', undefined],
    ['localhost:5000/app', 'localhost:5000', 'app', 'latest', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['quay.io:8443/org/app', 'quay.io:8443', 'org/app', 'latest', undefined],
    [`nginx@${DIGEST}`, 'docker.io', 'library/nginx', undefined, DIGEST],
    [`nginx:1.27@${DIGEST}`, 'docker.io', 'library/nginx', '1.27', DIGEST],
    ['  nginx  ', 'docker.io', 'library/nginx', 'latest', undefined],
  ])('%s → host %s, path %s, tag %s, digest %s', (ref, host, path, tag, digest) => {
    expect(parseImageRef(ref)).toEqual({ host, path, tag, digest });
  });
});

describe('a pattern written either way matches every spelling', () => {
  const ORACLE = 'container-registry.oracle.com/database/enterprise';
  it.each([
    // Docker Hub official images, every spelling, against patterns in every spelling
    ...[
      'nginx',
      'library/nginx',
      'docker.io/nginx',
      'docker.io/library/nginx',
      'index.docker.io/nginx',
      'docker.io:443/library/nginx',
    ].flatMap((pattern) =>
      [
        'nginx',
        'nginx:latest',
        'nginx:1.27',
        'library/nginx:1.27',
        'docker.io/nginx',
        'docker.io/library/nginx:1.27',
        'index.docker.io/nginx:1.27',
        'index.docker.io/library/nginx',
        'registry-1.docker.io/library/nginx:1',
        'DOCKER.IO/library/nginx',
        'docker.io:443/nginx:1',
        `nginx@${DIGEST}`,
        `docker.io/library/nginx:1.27@${DIGEST}`,
      ].map((image): [string, string, boolean] => [pattern, image, true]),
    ),
    // tags: implied latest
    ['nginx:latest', 'nginx', true],
    ['nginx:latest', 'docker.io/library/nginx', true],
    ['docker.io/library/nginx:latest', 'index.docker.io/nginx', true],
    ['nginx:1.27', 'nginx', false],
    ['nginx:1.27', 'nginx:1.26', false],
    // a tag beside a digest is not what runs: matched by repository
    ['oracle/database:19*', `oracle/database:12.2@${DIGEST}`, true],
    ['oracle/database:19*', `oracle/database@${DIGEST}`, true],
    ['oracle/database:19*', 'oracle/database:12.2', false],
    [`oracle/database@${DIGEST}`, `docker.io/oracle/database:19@${DIGEST}`, true],
    [`oracle/database@${DIGEST}`, `oracle/database@${OTHER_DIGEST}`, true],
    // globs written by hand, in any host case or with the default port
    [`${ORACLE}*`, `${ORACLE}:21.3.0`, true],
    [`${ORACLE}*`, `Container-Registry.Oracle.COM/database/enterprise:21.3.0`, true],
    [`${ORACLE}*`, `container-registry.oracle.com:443/database/enterprise:21.3.0`, true],
    [`${ORACLE}*`, `${ORACLE}@${DIGEST}`, true],
    [`${ORACLE}*`, `${ORACLE}:21@${DIGEST}`, true],
    [`CONTAINER-REGISTRY.ORACLE.COM/database/enterprise*`, `${ORACLE}:21`, true],
    [`${ORACLE}:*`, `${ORACLE}@${DIGEST}`, true],
    [`${ORACLE}`, `${ORACLE}:21.3.0`, true],
    ['**/database/enterprise*', `${ORACLE}:21`, true],
    // what is not the same image
    [`${ORACLE}*`, `container-registry.oracle.com:5000/database/enterprise:21`, false],
    [`${ORACLE}*`, `mirror.example.com/${ORACLE}:21`, false],
    [`${ORACLE}*`, 'container-registry.oracle.com/database/express:21', false],
    ['nginx', 'nginxinc/nginx-unprivileged', false],
    ['nginx', 'quay.io/library/nginx', false],
    ['oracle/database*', 'ghcr.io/oracle/database:19', false],
  ] as [string, string, boolean][])('pattern %s, image %s → %s', (pattern, image, expected) => {
    expect(matches(pattern, image)).toBe(expected);
  });
});
