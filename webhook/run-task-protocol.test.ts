// The run task's address and redirect rules as tables: what is refused, and —
// as important — what is not (HCP Terraform's own hosts and any public address).
import { describe, expect, it } from 'vitest';
import { addressProblem, hostListed, nameListed } from './run-task-protocol.ts';
import { redirectProblem } from './run-task-transport.ts';

describe('addressProblem', () => {
  it('passes public addresses, IPv4 and IPv6', () => {
    for (const a of [
      '93.184.216.34',
      '8.8.8.8',
      '52.1.2.3',
      '100.63.255.255',
      '100.128.0.1',
      '172.32.0.1',
      '2606:4700::6810:84e5',
      '2a05:d014::1',
    ])
      expect(addressProblem(a), a).toBeUndefined();
  });

  it('refuses loopback, link-local, private, reserved and multicast, in every IPv6 form that carries one', () => {
    const refused: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['0.0.0.0', 'reserved'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.0.10', 'private'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['169.254.169.254', 'link-local'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fd12:3456::1', 'unique local'],
      ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b::10.0.0.1', 'private'],
      ['2002:7f00:1::', 'loopback'],
    ];
    for (const [a, kind] of refused) expect(addressProblem(a), a).toContain(kind);
    // NAT64 and 6to4 forms of a public address are public.
    expect(addressProblem('64:ff9b::5db8:d822')).toBeUndefined();
    expect(addressProblem('2002:5db8:d822::1')).toBeUndefined();
  });
});

describe('listing in terraform.runTaskHosts', () => {
  it('matches by name, host:port (the port pinned), and bracketed IPv6', () => {
    const u = (s: string) => new URL(s);
    expect(hostListed(u('https://tfe.example.com/x'), ['tfe.example.com'])).toBe(true);
    expect(hostListed(u('https://tfe.example.com:8443/x'), ['tfe.example.com:8443'])).toBe(true);
    expect(hostListed(u('https://tfe.example.com:9443/x'), ['tfe.example.com:8443'])).toBe(false);
    expect(hostListed(u('https://TFE.example.com/x'), ['tfe.EXAMPLE.com'])).toBe(true);
    expect(hostListed(u('https://[fd00::5]/x'), ['[fd00::5]'])).toBe(true);
    expect(hostListed(u('https://evil.example.com/x'), undefined)).toBe(false);
    expect(nameListed('tfe.example.com', ['tfe.example.com:8443'])).toBe(true);
    expect(nameListed('fd00::5', ['[fd00::5]:443'])).toBe(true);
    expect(nameListed('other.example.com', ['tfe.example.com'])).toBe(false);
  });
});

describe('redirectProblem', () => {
  const u = (s: string) => new URL(s);
  it("follows HCP Terraform's plan redirect to its storage host, the same host, and a listed host", () => {
    expect(
      redirectProblem(u('https://app.terraform.io/api/v2/plans/p/json-output'), u('https://archivist.terraform.io/v1/object/x'), undefined),
    ).toBeUndefined();
    expect(
      redirectProblem(u('https://app.terraform.io/api/v2/plans/p/json-output'), u('https://archivist.terraform.io/v1/object/x'), [
        'app.terraform.io',
      ]),
    ).toBeUndefined();
    expect(
      redirectProblem(
        u('https://tfe.example.com/api/v2/plans/p/json-output'),
        u('https://tfe.example.com/_archivist/v1/object/x'),
        undefined,
      ),
    ).toBeUndefined();
    expect(
      redirectProblem(u('https://tfe.example.com/a'), u('https://blobs.example.net/b'), ['tfe.example.com', 'blobs.example.net']),
    ).toBeUndefined();
  });

  it('refuses another host, another scheme, credentials, and a private address written in the target', () => {
    expect(redirectProblem(u('https://tfe.example.com/a'), u('https://evil.example.net/b'), undefined)).toMatch(
      /another host \(evil\.example\.net\)/,
    );
    expect(redirectProblem(u('https://app.terraform.io/a'), u('http://archivist.terraform.io/b'), undefined)).toMatch(/another scheme/);
    expect(redirectProblem(u('https://tfe.example.com/a'), u('https://u:p@tfe.example.com/b'), undefined)).toMatch(/credentials/);
    expect(redirectProblem(u('https://10.0.0.5/a'), u('https://10.0.0.5/b'), undefined)).toMatch(/10\.0\.0\.5 is a private address/);
  });
});
