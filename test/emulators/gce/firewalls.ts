// Firewalls: stored and validated like the API does; NOT enforced on traffic (lab VMs are reachable
// on every port whatever the rules say).
import { checkNew, deleteResource, insertResource, listResource } from './crud.js';
import { badRequest, invalidField, notFound, requiredField } from './errors.js';
import { newId, timestamp } from './ids.js';
import type { Router } from './router.js';
import { Collection, type State, type Stored } from './state.js';
import { projectPath } from './urls.js';
import { checkName, checkTags, isCidr, parsePortRange } from './validate.js';

/** Ports or port ranges in one rule (allowed + denied), the limit controllers collapse ranges for. */
export const MAX_FIREWALL_PORTS = 100;
const PROTOCOLS = ['tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'];
const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'];

type Rule = { IPProtocol: string; ports?: string[] };

function checkRules(list: unknown, field: string): Rule[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidField(field, '', 'Must be a list.');
  return list.map((r: unknown, i) => {
    const { IPProtocol, ports } = (r ?? {}) as { IPProtocol?: unknown; ports?: unknown };
    if (IPProtocol === undefined) throw requiredField(`${field}[${i}].IPProtocol`);
    const proto = String(IPProtocol).toLowerCase();
    const numeric = /^\d{1,3}$/.test(proto) && Number(proto) <= 255;
    if (!PROTOCOLS.includes(proto) && !numeric)
      throw invalidField(`${field}[${i}].IPProtocol`, IPProtocol, 'Invalid IP protocol specification.');
    const out: Rule = { IPProtocol: proto };
    if (ports !== undefined && ports !== null) {
      if (!Array.isArray(ports)) throw invalidField(`${field}[${i}].ports`, '', 'Must be a list.');
      if (ports.length && !PORT_PROTOCOLS.includes(proto) && proto !== 'all')
        throw invalidField(`${field}[${i}].ports`, '', `Ports may only be specified for tcp, udp or sctp.`);
      ports.forEach((p: unknown, j) => {
        if (typeof p !== 'string' || !parsePortRange(p))
          throw invalidField(`${field}[${i}].ports[${j}]`, p, 'Invalid port specification.');
      });
      if (ports.length) out.ports = [...(ports as string[])];
    }
    return out;
  });
}

function checkRanges(list: unknown, field: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidField(field, '', 'Must be a list.');
  list.forEach((c, i) => {
    if (!isCidr(c))
      throw invalidField(
        `${field}[${i}]`,
        c,
        'Must be a CIDR address range that is contained in the network.',
      );
  });
  return [...(list as string[])];
}

export class FirewallsApi {
  readonly coll: Collection;

  constructor(private state: State) {
    this.coll = new Collection(state.links, 'firewalls', 'firewall');
  }

  /** Validate a full firewall body and build its stored JSON (keeping id/creation of `prev`). */
  private build(r: Record<string, unknown>, prev?: Stored): Stored['json'] {
    const name = checkName(r.name);
    const net = projectPath(String(r.network ?? 'global/networks/default'), this.state.project);
    if (net !== `projects/${this.state.project}/global/networks/default`)
      throw notFound(net ?? String(r.network));
    if (prev && net !== projectPath(String(prev.json.network), this.state.project))
      throw invalidField('resource.network', r.network, 'The network of a firewall cannot be changed.');
    const direction = String(r.direction ?? 'INGRESS');
    if (direction !== 'INGRESS' && direction !== 'EGRESS')
      throw invalidField('resource.direction', direction, 'Must be INGRESS or EGRESS.');
    const allowed = checkRules(r.allowed, 'resource.allowed');
    const denied = checkRules(r.denied, 'resource.denied');
    if (allowed.length > 0 === denied.length > 0)
      throw badRequest("Exactly one of 'allowed' or 'denied' must be specified.", 'invalid');
    const ports = [...allowed, ...denied].reduce((n, x) => n + (x.ports?.length ?? 0), 0);
    if (ports > MAX_FIREWALL_PORTS)
      throw invalidField(
        allowed.length ? 'resource.allowed' : 'resource.denied',
        '',
        `Too many ports or port ranges: ${ports} (at most ${MAX_FIREWALL_PORTS} per rule).`,
      );
    let sourceRanges = checkRanges(r.sourceRanges, 'resource.sourceRanges');
    const destinationRanges = checkRanges(r.destinationRanges, 'resource.destinationRanges');
    const sourceTags = checkTags(r.sourceTags, 'resource.sourceTags');
    const targetTags = checkTags(r.targetTags, 'resource.targetTags');
    if (direction === 'EGRESS' && sourceTags.length)
      throw invalidField('resource.sourceTags', '', 'Source tags cannot be used in an EGRESS rule.');
    const sourceServiceAccounts = Array.isArray(r.sourceServiceAccounts)
      ? (r.sourceServiceAccounts as string[])
      : [];
    if (
      direction === 'INGRESS' &&
      !sourceRanges.length &&
      !sourceTags.length &&
      !sourceServiceAccounts.length
    )
      sourceRanges = ['0.0.0.0/0'];
    const priority = r.priority === undefined ? 1000 : Number(r.priority);
    if (!Number.isInteger(priority) || priority < 0 || priority > 65535)
      throw invalidField('resource.priority', r.priority, 'Must be between 0 and 65535.');
    const id = prev?.json.id ?? newId();
    return {
      kind: 'compute#firewall',
      id,
      creationTimestamp: (prev?.json.creationTimestamp as string | undefined) ?? timestamp(),
      name,
      ...(r.description !== undefined ? { description: String(r.description) } : {}),
      network: this.state.links.url('global/networks/default'),
      priority,
      ...(sourceRanges.length ? { sourceRanges } : {}),
      ...(destinationRanges.length ? { destinationRanges } : {}),
      ...(sourceTags.length ? { sourceTags } : {}),
      ...(targetTags.length ? { targetTags } : {}),
      ...(sourceServiceAccounts.length ? { sourceServiceAccounts } : {}),
      ...(allowed.length ? { allowed } : {}),
      ...(denied.length ? { denied } : {}),
      direction,
      logConfig: { enable: false },
      disabled: Boolean(r.disabled),
      selfLink: this.coll.url('global', name),
    };
  }

  /** PATCH merges the given fields; PUT replaces the resource. Both keep name, id and network. */
  private change(name: string, body: Record<string, unknown> | undefined, patch: boolean) {
    const rec = this.coll.mutable('global', name);
    const r = body ?? {};
    if (r.name !== undefined && r.name !== name)
      throw invalidField('resource.name', r.name, 'The name of a firewall cannot be changed.');
    const merged: Record<string, unknown> = patch ? { ...rec.json } : { network: rec.json.network };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) merged[k] = v;
    merged.name = name;
    if (patch) {
      // a patch that sets allowed drops denied and vice versa
      if (r.allowed !== undefined) delete merged.denied;
      if (r.denied !== undefined) delete merged.allowed;
      // as on GCE, omitted fields (an empty list is omitted by the library's JSON) stay as they were
    }
    const next = this.build(merged, rec);
    return this.state.operation('global', patch ? 'patch' : 'update', rec, {
      commit: () => {
        rec.json = next;
      },
    });
  }

  register(router: Router): void {
    const base = '/projects/:project/global/firewalls';
    router.post(base, ({ body }) => {
      const json = this.build(body ?? {});
      checkNew(this.coll, 'global', json.name);
      return insertResource(this.state, this.coll, { json, scope: 'global', ready: false, deleting: false });
    });
    router.get(base, ({ query }) =>
      listResource(this.state, this.coll, 'global', query, 'compute#firewallList'),
    );
    router.get(`${base}/:name`, ({ params }) => this.coll.get('global', params.name).json);
    router.patch(`${base}/:name`, ({ params, body }) => this.change(params.name, body, true));
    router.put(`${base}/:name`, ({ params, body }) => this.change(params.name, body, false));
    router.delete(`${base}/:name`, ({ params }) =>
      deleteResource(this.state, this.coll, 'global', params.name),
    );
  }
}
