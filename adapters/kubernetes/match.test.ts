import { describe, expect, it } from 'vitest';
import { matchProducts } from './match.ts';
import { products, workload } from './test-objects.ts';
import { usageFromObjects } from './inventory.ts';
import { slimObject } from './slim.ts';
import { podTemplate } from './workload.ts';

const match = (o: unknown) => matchProducts(podTemplate(o)!, products);

describe('matchProducts', () => {
  it('matches image globs against the full reference, counting only matching containers', () => {
    const m = match(
      workload({
        containers: [
          { name: 'db', limit: '2' },
          { name: 'exporter', image: 'ghcr.io/x/exporter:1', limit: '1' },
        ],
        initContainers: [{ name: 'init', image: 'busybox' }],
      }),
    );
    expect(m).toEqual([
      { productId: 'oracle-db-ee', product: products[0], by: 'image', containers: [true, false], initContainers: [false] },
    ]);
  });

  it('counts the containers that mount an image volume of the product, whatever their own image', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db', namespace: 'prod' },
      spec: {
        volumes: [
          { name: 'token', projected: { sources: [] } },
          { name: 'oracle', image: { reference: 'container-registry.oracle.com/database/enterprise:21.3.0.0' } },
        ],
        containers: [
          {
            name: 'runner',
            image: 'busybox',
            resources: { limits: { cpu: '2' } },
            volumeMounts: [
              { name: 'oracle', mountPath: '/opt/oracle' },
              { name: 'token', mountPath: '/t' },
            ],
          },
          { name: 'proxy', image: 'envoy', volumeMounts: [{ name: 'token', mountPath: '/t' }] },
        ],
      },
    };
    expect(match(pod)).toMatchObject([{ productId: 'oracle-db-ee', by: 'image', containers: [true, false] }]);
    // The live inventory keeps the image volume and its mount (and not the token's), so usage counts it too.
    const slim = slimObject('Pod', 'v1', pod);
    expect(slim.spec).toMatchObject({
      volumes: [{ name: 'oracle' }],
      containers: [{ volumeMounts: [{ name: 'oracle' }] }, { name: 'proxy' }],
    });
    expect((slim.spec as { containers: object[] }).containers[1]).not.toHaveProperty('volumeMounts');
    expect(match(slim)).toMatchObject([{ productId: 'oracle-db-ee', containers: [true, false] }]);
    expect(usageFromObjects([slim], { products })).toMatchObject([{ product: 'oracle-db-ee', quantity: 2 }]);
  });

  it('does not match an image that only resembles the glob', () => {
    expect(match(workload({ containers: [{ image: 'mirror.example.com/container-registry.oracle.com/database/enterprise:21' }] }))).toEqual(
      [],
    );
    expect(match(workload({ containers: [{ image: 'container-registry.oracle.com/database/express:21' }] }))).toEqual([]);
  });

  it('matches Docker Hub short names against a glob written either way', () => {
    const m = match(workload({ containers: [{ name: 'r', image: 'docker.io/redislabs/redis:7.2' }] }));
    expect(m.map((x) => x.productId)).toEqual(['redis-ent']);
  });

  it('matches labels only when every listed label is equal, on the workload or its pod template', () => {
    expect(
      match(workload({ containers: [{ image: 'mq:9' }], templateLabels: { app: 'mq', tier: 'broker' } })).map((x) => [x.productId, x.by]),
    ).toEqual([['mq', 'label']]);
    expect(
      match(workload({ containers: [{ image: 'mq:9' }], labels: { app: 'mq' }, templateLabels: { tier: 'broker' } })).map(
        (x) => x.productId,
      ),
    ).toEqual(['mq']);
    expect(match(workload({ containers: [{ image: 'mq:9' }], templateLabels: { app: 'mq', tier: 'edge' } }))).toEqual([]);
  });

  it('counts all containers for a label match, or only those the product names', () => {
    const all = match(
      workload({
        containers: [
          { name: 'broker', image: 'mq:9' },
          { name: 'web', image: 'console:1' },
        ],
        templateLabels: { app: 'mq', tier: 'broker' },
      }),
    );
    expect(all[0]!.containers).toEqual([true, true]);
    const named = match(
      workload({
        containers: [
          { name: 'broker', image: 'mq:9' },
          { name: 'web', image: 'console:1' },
        ],
        templateLabels: { app: 'mq-named' },
      }),
    );
    expect(named[0]!.containers).toEqual([true, false]);
  });

  it('honours the entitlegate.io/product annotation, on workload or pod template, even for unknown products', () => {
    const m = match(
      workload({ containers: [{ image: 'acme/app:1' }], annotations: { 'entitlegate.io/product': 'redis-ent, not-configured' } }),
    );
    expect(m.map((x) => [x.productId, x.by, x.product?.id])).toEqual([
      ['redis-ent', 'annotation', 'redis-ent'],
      ['not-configured', 'annotation', undefined],
    ]);
    expect(
      match(workload({ containers: [{ image: 'acme/app:1' }], templateAnnotations: { 'entitlegate.io/product': 'mq' } })).map(
        (x) => x.productId,
      ),
    ).toEqual(['mq']);
  });

  it("maps IBM License Service's productID to the product with that id, and honours productChargedContainers", () => {
    const ibm = (charged?: string) =>
      match(
        workload({
          containers: [
            { name: 'qmgr', image: 'icr.io/ibm-messaging/mq:9' },
            { name: 'metrics', image: 'icr.io/x/metrics:1' },
          ],
          templateAnnotations: {
            productID: 'ibm-mq-5724-H72',
            productName: 'IBM MQ',
            ...(charged ? { productChargedContainers: charged } : {}),
          },
        }),
      );
    expect(ibm().map((x) => [x.productId, x.by, x.containers])).toEqual([['ibm-mq-5724-H72', 'ibm', [true, true]]]);
    expect(ibm('qmgr')[0]!.containers).toEqual([true, false]);
    expect(ibm('All')[0]!.containers).toEqual([true, true]);
  });

  it('finds several products in one workload, each with its own containers', () => {
    const m = match(workload({ containers: [{ name: 'db' }, { name: 'cache', image: 'redislabs/redis:7' }] }));
    expect(m.map((x) => [x.productId, x.containers])).toEqual([
      ['oracle-db-ee', [true, false]],
      ['redis-ent', [false, true]],
    ]);
  });

  it('matches init containers by image too', () => {
    const m = match(workload({ containers: [{ name: 'app', image: 'acme/app:1' }], initContainers: [{ name: 'migrate' }] }));
    expect(m.map((x) => [x.productId, x.containers, x.initContainers])).toEqual([['oracle-db-ee', [false], [true]]]);
  });
});
