// The cluster of the memory bench, served by the one fake API server
// (adapters/kubernetes/testing/fake-api-server.ts) in its own process so its
// memory is not the measured one: list (paged with limit/continue, or whole,
// with metadata.resourceVersion) and watch (a chunked stream held open) for
// the kinds the Inventory follows. It holds `pods` Pods: Deployments with one
// ReplicaSet each and the Pods the ReplicaSets own (10 per Deployment), plus
// bare Pods (5%). Objects are built when a page is asked for, shaped like a
// real cluster's (managedFields, status, env, volumes), ~3 KB of JSON each.
//
//   node bench/lib/fake-kube.ts PODS   → prints {"url": ...} once listening
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../../adapters/kubernetes/testing/fake-api-server.ts';

export const REPLICAS = 10;
export const NAMESPACES = 100;
export const NODES = 50;
const RV = '424242';
/** The bearer token the probes' kubeconfigs carry. */
export const TOKEN = 'bench';

export interface ClusterShape {
  pods: number;
  deployments: number;
  ownedPods: number;
  barePods: number;
}

export function clusterShape(pods: number): ClusterShape {
  const barePods = Math.round(pods * 0.05);
  const deployments = Math.ceil((pods - barePods) / REPLICAS);
  return { pods: barePods + deployments * REPLICAS, deployments, ownedPods: deployments * REPLICAS, barePods };
}

const IMAGES = [
  'container-registry.oracle.com/database/enterprise:21.3.0.0',
  'registry.redhat.io/ubi9/ubi-minimal:9.4',
  'registry.redhat.io/ubi9/nodejs-20:1-40',
  'splunk/splunk:9.2',
  ...Array.from({ length: 16 }, (_, i) => `ghcr.io/example/service-${i}:1.${i}.0`),
];

const ts = '2026-11-20T08:00:00Z';
const uid = (kind: string, i: number) => `${kind.toLowerCase()}-0000-4000-8000-${String(i).padStart(12, '0')}`;
const nsOf = (i: number) => `team-${i % NAMESPACES}`;
const image = (d: number) => IMAGES[d % IMAGES.length]!;

function managedFields(manager: string) {
  return [
    {
      manager,
      operation: 'Update',
      apiVersion: 'v1',
      time: ts,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:resources': { 'f:limits': { 'f:cpu': {} } } } } },
      },
    },
    {
      manager: 'kubelet',
      operation: 'Update',
      apiVersion: 'v1',
      time: ts,
      fieldsType: 'FieldsV1',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {}, 'f:phase': {} } },
    },
  ];
}

function podSpec(d: number) {
  return {
    containers: [
      {
        name: 'app',
        image: image(d),
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        ],
        resources: { limits: { cpu: `${1 + (d % 4)}`, memory: '2Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
        volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        terminationMessagePath: '/dev/termination-log',
        imagePullPolicy: 'IfNotPresent',
      },
      { name: 'sidecar', image: 'envoyproxy/envoy:v1.31.0', resources: { limits: { cpu: '200m', memory: '256Mi' } } },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    nodeName: `node-${d % NODES}`,
    schedulerName: 'default-scheduler',
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
  };
}

function pod(i: number, shape: ClusterShape) {
  const owned = i < shape.ownedPods;
  const d = owned ? Math.floor(i / REPLICAS) : i;
  const name = owned ? `app-${d}-7d9f8c6b5-${i % REPLICAS}` : `bare-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: nsOf(d),
      uid: uid('pod', i),
      resourceVersion: RV,
      creationTimestamp: ts,
      labels: { app: `app-${d}`, 'pod-template-hash': '7d9f8c6b5' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': ts },
      ...(owned
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: `app-${d}-7d9f8c6b5`,
                uid: uid('rs', d),
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
      managedFields: managedFields('kube-controller-manager'),
    },
    spec: podSpec(d),
    status: {
      phase: 'Running',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: ts,
      })),
      hostIP: `10.0.${d % NODES}.1`,
      podIP: `10.1.${(i >> 8) & 255}.${i & 255}`,
      startTime: ts,
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          image: image(d),
          imageID: `sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${'cd'.repeat(32)}`,
          started: true,
          state: { running: { startedAt: ts } },
        },
      ],
      qosClass: 'Burstable',
    },
  };
}

function template(d: number) {
  return { metadata: { labels: { app: `app-${d}` } }, spec: podSpec(d) };
}

function deployment(d: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: `app-${d}`,
      namespace: nsOf(d),
      uid: uid('deploy', d),
      resourceVersion: RV,
      generation: 1,
      creationTimestamp: ts,
      labels: { app: `app-${d}` },
      managedFields: managedFields('kubectl'),
    },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: `app-${d}` } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: template(d),
    },
    status: { replicas: REPLICAS, readyReplicas: REPLICAS, availableReplicas: REPLICAS, updatedReplicas: REPLICAS, observedGeneration: 1 },
  };
}

function replicaSet(d: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `app-${d}-7d9f8c6b5`,
      namespace: nsOf(d),
      uid: uid('rs', d),
      resourceVersion: RV,
      creationTimestamp: ts,
      labels: { app: `app-${d}`, 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${d}`, uid: uid('deploy', d), controller: true, blockOwnerDeletion: true },
      ],
      managedFields: managedFields('kube-controller-manager'),
    },
    spec: { replicas: REPLICAS, selector: { matchLabels: { app: `app-${d}` } }, template: template(d) },
    status: { replicas: REPLICAS, readyReplicas: REPLICAS, availableReplicas: REPLICAS },
  };
}

const namespace = (i: number) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: `team-${i}`,
    uid: uid('ns', i),
    resourceVersion: RV,
    labels: { 'entitlegate.io/environment': i % 4 === 0 ? 'prod' : 'dev' },
  },
});
const node = (i: number) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}`, uid: uid('node', i), resourceVersion: RV } });

/** Serves the cluster of `pods` pods from the one fake API server (adapters/kubernetes/testing). */
export async function serveFake(pods: number): Promise<string> {
  const shape = clusterShape(pods);
  const api = new FakeApiServer({ token: TOKEN, resourceVersion: Number(RV) });
  api.generate('/api/v1/namespaces', { count: NAMESPACES, make: namespace });
  api.generate('/api/v1/nodes', { count: NODES, make: node });
  api.generate('/apis/apps/v1/deployments', { count: shape.deployments, make: deployment });
  api.generate('/apis/apps/v1/replicasets', { count: shape.deployments, make: replicaSet });
  api.generate('/api/v1/pods', { count: shape.pods, make: (i) => pod(i, shape) });
  return api.listen();
}

/** Starts the fake API server in a child process. */
export async function startFakeKube(pods: number): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(pods)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fake API server exited ${code}`)));
    lines.once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
  });
  return { url, stop: () => void child.kill('SIGTERM') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = await serveFake(Number(process.argv[2] ?? '1000'));
  process.stdout.write(JSON.stringify({ url }) + '\n');
}
