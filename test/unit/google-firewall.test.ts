import { describe, it, expect } from 'vitest';
import { firewallBody, firewallChanges, openAllowed, ownerFirewalls } from '../../drivers/google/firewall.js';
import { gceName, ownerTag } from '../../src/cloud/gce/labels.js';
import { describeApiError, isRetryable } from '../../src/cloud/gce/errors.js';

const cluster = { kind: 'cluster' as const, name: 'gce1' };
const settings = { network: 'default', adminCidrs: ['203.0.113.7/32'], openPorts: [] };

describe('cluster firewall rules', () => {
  it('opens the swarm ports between members only, admin ports from the admin range', () => {
    const { specs, unwanted } = ownerFirewalls(cluster, settings);
    const swarm = specs.find((f) => f.role === 'swarm')!;
    expect(swarm.name).toBe('swarmup-gce1-swarm');
    expect(swarm.allowed).toEqual([
      { IPProtocol: 'tcp', ports: ['2377', '7946'] },
      { IPProtocol: 'udp', ports: ['4789', '7946'] },
    ]);
    expect(swarm.sourceTags).toEqual(['swarmup-gce1']);
    expect(swarm.targetTags).toEqual(['swarmup-gce1']);
    expect(swarm.sourceRanges).toEqual([]); // no range: members only
    const admin = specs.find((f) => f.role === 'admin')!;
    expect(admin.allowed).toEqual([{ IPProtocol: 'tcp', ports: ['22', '2376'] }]);
    expect(admin.sourceRanges).toEqual(['203.0.113.7/32']);
    expect(admin.sourceRanges).not.toContain('0.0.0.0/0');
    expect(unwanted).toEqual(['swarmup-gce1-open']);
    expect(JSON.parse(admin.description)).toEqual({
      'swarmup/cluster': 'gce1',
      'swarmup/role': 'firewall-admin',
    });
    const body = firewallBody(swarm);
    expect(body).toMatchObject({
      network: 'global/networks/default',
      direction: 'INGRESS',
      sourceTags: ['swarmup-gce1'],
    });
    expect(body.sourceRanges).toBeUndefined();
  });

  it('machines outside a cluster get no swarm rule; open ports get their own rule', () => {
    const { specs } = ownerFirewalls(
      { kind: 'machine', name: 'web1' },
      {
        ...settings,
        openPorts: [
          { protocol: 'tcp', port: 443 },
          { protocol: 'udp', port: 53 },
          { protocol: 'tcp', port: 80 },
        ],
      },
    );
    expect(specs.map((f) => f.name)).toEqual(['swarmup-m-web1-admin', 'swarmup-m-web1-open']);
    expect(specs[1].allowed).toEqual([
      { IPProtocol: 'tcp', ports: ['80', '443'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    expect(specs[1].sourceRanges).toEqual(['0.0.0.0/0']);
    expect(ownerTag({ kind: 'machine', name: 'web1' })).toBe('swarmup-m-web1');
  });

  it('keeps names within 63 characters', () => {
    const n = gceName('swarmup-m', 'a'.repeat(63), 'admin');
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(gceName('swarmup-m', 'a'.repeat(63), 'open')).not.toBe(n);
    expect(openAllowed([])).toEqual([]);
  });

  it('diffs against what GCE returns: equal when only URL forms and order differ', () => {
    const { specs } = ownerFirewalls(cluster, settings);
    const want = specs[0];
    const have = {
      ...firewallBody(want),
      network: 'http://127.0.0.1:1/compute/v1/projects/p/global/networks/default',
      allowed: [...want.allowed].reverse().map((a) => ({ ...a, ports: [...a.ports].reverse() })),
      sourceRanges: [],
    };
    expect(firewallChanges(want, have)).toEqual([]);
    expect(firewallChanges(want, { ...have, allowed: [{ IPProtocol: 'tcp', ports: ['2377'] }] })).toEqual([
      'allowed',
    ]);
    expect(firewallChanges(specs[1], { ...firewallBody(specs[1]), sourceRanges: ['0.0.0.0/0'] })).toEqual([
      'sourceRanges',
    ]);
    expect(firewallChanges(want, { ...have, description: 'by hand' })).toEqual(['description']);
  });
});

describe('API errors', () => {
  const gaxios = (status: number, message: string, reason?: string) => ({
    status,
    message: JSON.stringify({
      error: { code: status, message, errors: reason ? [{ reason, message }] : [] },
    }),
  });

  it('retries throttling, server errors and busy answers; not the rest', () => {
    const retry = (e: unknown) => isRetryable(describeApiError(e));
    expect(retry(gaxios(429, 'Rate Limit Exceeded', 'rateLimitExceeded'))).toBe(true);
    expect(retry(gaxios(500, 'Internal error'))).toBe(true);
    expect(retry(gaxios(502, 'Bad gateway'))).toBe(true);
    expect(retry(gaxios(503, 'Unavailable'))).toBe(true);
    expect(
      retry(
        gaxios(
          403,
          "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'",
          'rateLimitExceeded',
        ),
      ),
    ).toBe(true);
    expect(retry(gaxios(403, 'Required permission compute.instances.create', 'forbidden'))).toBe(false);
    expect(
      retry(gaxios(409, "The resource 'x' is already being used by operation op-1", 'operationInProgress')),
    ).toBe(true);
    expect(retry(gaxios(409, "The resource 'x' already exists", 'alreadyExists'))).toBe(false);
    expect(retry(gaxios(400, "The resource 'x' is not ready", 'resourceNotReady'))).toBe(true);
    expect(retry(gaxios(400, 'Invalid value for field', 'invalid'))).toBe(false);
    expect(retry(gaxios(404, 'not found', 'notFound'))).toBe(false);
    // google-gax's mapped form (gRPC codes, errors[] dropped) and network errors.
    expect(retry({ code: 8, message: 'RESOURCE_EXHAUSTED' })).toBe(true);
    expect(retry({ code: 14, message: 'UNAVAILABLE' })).toBe(true);
    expect(retry({ code: 5, message: 'NOT_FOUND' })).toBe(false);
    expect(retry({ code: 'ECONNRESET', message: 'socket hang up' })).toBe(true);
    expect(retry({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' })).toBe(false); // a dead endpoint fails fast
  });

  it('describes an error body as status, reason and message', () => {
    expect(
      describeApiError(gaxios(404, "The resource 'projects/p/global/firewalls/x' was not found", 'notFound')),
    ).toEqual({
      status: 404,
      reason: 'notFound',
      message: "The resource 'projects/p/global/firewalls/x' was not found",
      network: undefined,
    });
    expect(describeApiError({ code: 10, message: 'ABORTED' }).status).toBe(409);
  });
});
