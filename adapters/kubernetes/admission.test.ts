import { describe, expect, it } from 'vitest';
import { carriesLicenceUse, isScaleAdmission, scaleParentKind, type AdmissionRequest, type Operation } from './admission.ts';
import * as adapter from './index.ts';

const req = (operation: Operation, subResource?: string, resource = 'deployments', group = 'apps'): AdmissionRequest => ({
  uid: 'u',
  kind: { group: subResource === 'scale' ? 'autoscaling' : group, version: 'v1', kind: subResource === 'scale' ? 'Scale' : 'Deployment' },
  resource: { group, version: 'v1', resource },
  ...(subResource !== undefined ? { subResource } : {}),
  operation,
});

describe('carriesLicenceUse', () => {
  it('is true for the workload objects themselves, on every operation but CONNECT', () => {
    for (const op of ['CREATE', 'UPDATE', 'DELETE'] as const) expect(carriesLicenceUse(req(op))).toBe(true);
    expect(carriesLicenceUse(req('UPDATE', ''))).toBe(true);
  });

  it('is true for the scale subresource', () => {
    expect(carriesLicenceUse(req('UPDATE', 'scale'))).toBe(true);
  });

  it('is false for CONNECT and for every other subresource', () => {
    expect(carriesLicenceUse(req('CONNECT'))).toBe(false);
    expect(carriesLicenceUse(req('CONNECT', 'exec', 'pods', ''))).toBe(false);
    expect(carriesLicenceUse(req('CONNECT', 'scale'))).toBe(false);
    for (const sub of ['status', 'binding', 'eviction']) {
      expect(carriesLicenceUse(req('UPDATE', sub)), sub).toBe(false);
    }
  });

  it('is true for the Pod subresources that change what a pod runs: ephemeral containers and in-place resize', () => {
    for (const sub of ['ephemeralcontainers', 'resize']) expect(carriesLicenceUse(req('UPDATE', sub, 'pods', '')), sub).toBe(true);
  });
});

describe('scaleParentKind', () => {
  it.each([
    ['deployments', 'Deployment'],
    ['statefulsets', 'StatefulSet'],
    ['replicasets', 'ReplicaSet'],
    ['replicationcontrollers', 'ReplicationController'],
  ])('maps the scale of %s to %s', (resource, kind) => {
    expect(scaleParentKind(req('UPDATE', 'scale', resource))).toBe(kind);
    expect(isScaleAdmission(req('UPDATE', 'scale', resource))).toBe(true);
  });

  it('is undefined for resources it does not size, including Object.prototype names', () => {
    for (const resource of ['daemonsets', 'jobs', 'widgets', 'constructor', 'toString', '__proto__']) {
      expect(scaleParentKind(req('UPDATE', 'scale', resource)), resource).toBeUndefined();
    }
  });

  it('is undefined when the admission is not of the scale subresource', () => {
    expect(scaleParentKind(req('UPDATE'))).toBeUndefined();
    expect(scaleParentKind(req('UPDATE', 'status'))).toBeUndefined();
    expect(isScaleAdmission(req('UPDATE'))).toBe(false);
    expect(isScaleAdmission(req('UPDATE', 'status'))).toBe(false);
  });

  it('is exported from the adapter', () => {
    expect(adapter.scaleParentKind).toBe(scaleParentKind);
    expect(adapter.carriesLicenceUse).toBe(carriesLicenceUse);
    expect(adapter.isScaleAdmission).toBe(isScaleAdmission);
  });
});
