// Instances: insert/get/list/aggregatedList/delete/start/stop/setMetadata/setTags/setLabels, each
// backed by a lab VM (or by nothing, with a loopback address, when `backing: false`).
import { delay } from '../../../src/util/async.js';
import {
  alreadyExists,
  fingerprintMismatch,
  invalidField,
  notFound,
  notReady,
  requiredField,
} from './errors.js';
import { backingVmName, sshKeyUsers, type Backing, type GuestSpec } from './guest.js';
import { newId, timestamp } from './ids.js';
import { resolveSourceImage } from './images.js';
import { aggregatedResponse, listResponse } from './list.js';
import type { Router } from './router.js';
import { Collection, IpPool, type State, type Stored } from './state.js';
import type { OperationWork } from './operations.js';
import { OperationError } from './errors.js';
import { lastSegment, projectPath } from './urls.js';
import {
  checkLabels,
  checkMetadataItems,
  checkName,
  checkTags,
  fingerprint,
  type MetadataItem,
} from './validate.js';

export type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

export interface InstanceRec extends Stored {
  zone: string;
  status: InstanceStatus;
  /** The instance's address (networkIP; also natIP while RUNNING when it has an access config). */
  ip?: string;
  externalNat: boolean;
  metadata: MetadataItem[];
  metadataFp: string;
  tags: string[];
  tagsFp: string;
  labels: Record<string, string>;
  labelFp: string;
  lastStart?: string;
  lastStop?: string;
  vm?: string;
  /** Serialises VM work (boot, stop, start, reconfigure, remove). */
  chain: Promise<unknown>;
}

const EMPTY_FP = '42WmSpB8rSM=';
const fp = (v: unknown[] | Record<string, string>) =>
  (Array.isArray(v) ? v.length : Object.keys(v).length) ? fingerprint(v) : EMPTY_FP;

export const MACHINE_TYPE_RE =
  /^(?:e2-(?:micro|small|medium|standard-\d+|highmem-\d+|highcpu-\d+)|(?:n1|n2|n2d|c2|c3|t2d)-(?:standard|highmem|highcpu)-\d+|f1-micro|g1-small|(?:e2-|n2-)?custom-\d+-\d+)$/;

/** vCPUs of a machine type by its name (shared-core e2 types count 2, as the CPUS quota does). */
export function machineTypeCpus(type: string): number {
  if (/^(f1-micro|g1-small)$/.test(type)) return 1;
  if (/^e2-(micro|small|medium)$/.test(type)) return 2;
  const custom = /custom-(\d+)-\d+$/.exec(type);
  if (custom) return Number(custom[1]);
  const n = /-(\d+)$/.exec(type);
  return n ? Number(n[1]) : 2;
}

export class InstancesApi {
  readonly coll: Collection<InstanceRec>;
  private ips: IpPool;

  constructor(
    private state: State,
    private backing: Backing | undefined,
  ) {
    this.coll = new Collection<InstanceRec>(state.links, 'instances', 'instance');
    this.ips = new IpPool(state.settings.instanceAddressPrefix);
  }

  private queue<T>(rec: InstanceRec, fn: () => Promise<T>): Promise<T> {
    const p = rec.chain.then(fn);
    rec.chain = p.catch(() => undefined);
    return p;
  }

  private guest(rec: InstanceRec): GuestSpec {
    const startup = rec.metadata.find((m) => m.key === 'startup-script')?.value;
    return {
      hostname: rec.json.name,
      fqdn: `${rec.json.name}.${rec.zone}.c.${this.state.project}.internal`,
      users: sshKeyUsers(rec.metadata),
      ...(startup !== undefined ? { startupScript: startup } : {}),
    };
  }

  /** The REST representation, with the live status and addresses. */
  render(rec: InstanceRec): Record<string, unknown> {
    const j = rec.json as Record<string, unknown>;
    const nic = (j.networkInterfaces as Array<Record<string, unknown>>).map((n, i) => {
      const out: Record<string, unknown> = { ...n };
      if (i === 0 && rec.ip) out.networkIP = rec.ip;
      if (Array.isArray(n.accessConfigs))
        out.accessConfigs = (n.accessConfigs as Array<Record<string, unknown>>).map((ac) =>
          i === 0 && rec.status === 'RUNNING' && rec.ip ? { ...ac, natIP: rec.ip } : { ...ac },
        );
      return out;
    });
    const body: Record<string, unknown> = {
      ...j,
      status: rec.status,
      tags: { ...(rec.tags.length ? { items: rec.tags } : {}), fingerprint: rec.tagsFp },
      networkInterfaces: nic,
      metadata: {
        kind: 'compute#metadata',
        fingerprint: rec.metadataFp,
        ...(rec.metadata.length ? { items: rec.metadata } : {}),
      },
      ...(Object.keys(rec.labels).length ? { labels: rec.labels } : {}),
      labelFingerprint: rec.labelFp,
      ...(rec.lastStart ? { lastStartTimestamp: rec.lastStart } : {}),
      ...(rec.lastStop ? { lastStopTimestamp: rec.lastStop } : {}),
    };
    body.fingerprint = fingerprint([rec.status, rec.ip, rec.metadataFp, rec.tagsFp, rec.labelFp]);
    return body;
  }

  /** Instances in the emulator's regions, by `zones/Z/instances/N` reference (for target pools). */
  find(ref: string): InstanceRec | undefined {
    const p = projectPath(ref, this.state.project);
    const m = p && /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/.exec(p);
    if (!m || m[1] !== this.state.project) return undefined;
    return this.coll.find(`zones/${m[2]}`, m[3]);
  }

  /** Instances and vCPUs in a region (the INSTANCES and CPUS quota metrics). */
  usage(region: string): { instances: number; cpus: number } {
    const mine = this.coll.all().filter((i) => this.state.regionOf(i.scope) === region);
    return {
      instances: mine.length,
      cpus: mine.reduce((n, i) => n + machineTypeCpus(lastSegment(String(i.json.machineType))), 0),
    };
  }

  /** Refuse `count` more instances of `cpus` vCPUs each in the region when a quota is too small. */
  private checkQuota(region: string, count: number, cpus: number): void {
    const u = this.usage(region);
    this.state.quota('instances', u.instances + count - 1, region);
    this.state.quota('cpus', u.cpus + count * cpus - 1, region);
  }

  private insert(zone: string, body: Record<string, unknown> | undefined) {
    const scope = this.state.zoneScope(zone);
    const r = body ?? {};
    const name = checkName(r.name);
    if (this.coll.find(scope, name)) throw alreadyExists(this.coll.path(scope, name));
    const rec = this.build(zone, r);
    this.checkQuota(
      this.state.regionOf(scope),
      1,
      machineTypeCpus(lastSegment(String(rec.json.machineType))),
    );
    this.coll.add(rec);
    return this.state.operation(scope, 'insert', rec, this.insertWork(rec));
  }

  /**
   * bulkInsert: one request for several instances of one shape, named by `perInstanceProperties`
   * (its keys). Each instance gets its own insert operation (one `operationGroupId`), which fails on
   * its own (capacity); the bulk operation is DONE when they are, counting what was made. Fewer than
   * `minCount` made: the ones made are deleted again and the bulk operation fails.
   */
  private bulkInsert(zone: string, body: Record<string, unknown> | undefined) {
    const scope = this.state.zoneScope(zone);
    const r = body ?? {};
    if (r.sourceInstanceTemplate !== undefined)
      throw invalidField(
        'sourceInstanceTemplate',
        r.sourceInstanceTemplate,
        'Instance templates are not emulated.',
      );
    if (r.namePattern !== undefined)
      throw invalidField(
        'namePattern',
        r.namePattern,
        'GCE emulator: name patterns are not emulated; use perInstanceProperties.',
      );
    const per = (r.perInstanceProperties ?? {}) as Record<string, Record<string, unknown>>;
    const names = Object.keys(per);
    if (!names.length) throw requiredField('bulkInsertInstanceResource.perInstanceProperties');
    const count = r.count === undefined ? names.length : Number(r.count);
    if (!Number.isInteger(count) || count !== names.length)
      throw invalidField(
        'bulkInsertInstanceResource.count',
        r.count,
        'count must equal the number of perInstanceProperties entries.',
      );
    const minCount = r.minCount === undefined ? count : Number(r.minCount);
    if (!Number.isInteger(minCount) || minCount < 1 || minCount > count)
      throw invalidField(
        'bulkInsertInstanceResource.minCount',
        r.minCount,
        'minCount must be between 1 and count.',
      );
    const props = (r.instanceProperties ?? {}) as Record<string, unknown>;
    const mt = props.machineType;
    if (typeof mt !== 'string' || !mt)
      throw requiredField('bulkInsertInstanceResource.instanceProperties.machineType');
    if (mt.includes('/'))
      throw invalidField(
        'bulkInsertInstanceResource.instanceProperties.machineType',
        mt,
        'Only a machine type name is accepted here, not a URL.',
      );
    for (const n of names) {
      checkName(n);
      if (this.coll.find(scope, n)) throw alreadyExists(this.coll.path(scope, n));
      if (per[n].name !== undefined)
        throw invalidField(
          `bulkInsertInstanceResource.perInstanceProperties[${n}].name`,
          per[n].name,
          'Output only.',
        );
    }
    const recs = names.map((n) => {
      const disks = Array.isArray(props.disks) ? (props.disks as Array<Record<string, unknown>>) : [];
      return this.build(zone, {
        ...props,
        name: n,
        machineType: `zones/${zone}/machineTypes/${mt}`,
        disks: disks.map((d) => {
          const init = (d.initializeParams ?? {}) as Record<string, unknown>;
          const dt = init.diskType;
          return typeof dt === 'string' && !dt.includes('/')
            ? { ...d, initializeParams: { ...init, diskType: `zones/${zone}/diskTypes/${dt}` } }
            : d;
        }),
        ...(typeof per[n].hostname === 'string' ? { hostname: per[n].hostname } : {}),
      });
    });
    this.checkQuota(this.state.regionOf(scope), count, machineTypeCpus(mt));
    const group = newId();
    const status = (created: number, failed: number, deleted: number, st: string) => ({
      perLocationStatus: {
        [`zones/${zone}`]: {
          createdVmCount: created,
          failedToCreateVmCount: failed,
          deletedVmCount: deleted,
          targetVmCount: count,
          status: st,
        },
      },
    });
    const ops = recs.map((rec) => {
      this.coll.add(rec);
      return this.state.operation(scope, 'insert', rec, this.insertWork(rec), {
        fields: { operationGroupId: group },
      });
    });
    let bulkName = '';
    const bulk = this.state.operation(
      scope,
      'bulkInsert',
      { link: this.state.links.url(scope), id: undefined },
      {
        run: async () => {
          const done = await Promise.all(ops.map((o) => this.state.ops.settled(scope, o.name)));
          const made = recs.filter((_, i) => !done[i].error);
          const failed = recs.length - made.length;
          if (made.length >= minCount) {
            this.state.ops.patch(scope, bulkName, {
              instancesBulkInsertOperationMetadata: status(made.length, failed, 0, 'DONE'),
            });
            return;
          }
          // Too few: what was made goes again, as the API documents for minCount.
          for (const rec of made) {
            rec.deleting = true;
            await rec.chain;
            if (rec.vm && this.backing) await this.queue(rec, () => this.backing!.remove(rec.vm!));
            this.coll.remove(rec);
            this.ips.release(rec.ip);
          }
          this.state.ops.patch(scope, bulkName, {
            instancesBulkInsertOperationMetadata: status(0, failed, made.length, 'ROLLING_BACK'),
          });
          const first = done.find((d) => d.error)?.error?.errors[0];
          throw new OperationError(
            first?.code ?? 'ZONE_RESOURCE_POOL_EXHAUSTED',
            `Only ${made.length} of ${count} instances could be created (minCount ${minCount}): ${first?.message ?? ''}`.trim(),
            first?.code === 'ZONE_RESOURCE_POOL_EXHAUSTED' ? 503 : 400,
          );
        },
      },
      {
        fields: {
          operationGroupId: group,
          instancesBulkInsertOperationMetadata: status(0, 0, 0, 'CREATING'),
        },
      },
    );
    bulkName = bulk.name;
    return bulk;
  }

  /** A new instance record from an insert body (validated; not yet stored). */
  private build(zone: string, r: Record<string, unknown>): InstanceRec {
    const scope = this.state.zoneScope(zone);
    const name = checkName(r.name);
    const region = this.state.regionOf(scope);

    // machine type
    if (!r.machineType) throw requiredField('resource.machineType');
    const mt = projectPath(String(r.machineType), this.state.project);
    const mtm = mt && /^projects\/([^/]+)\/zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(mt);
    if (!mtm || mtm[1] !== this.state.project || mtm[2] !== zone || !MACHINE_TYPE_RE.test(mtm[3]))
      throw invalidField(
        'resource.machineType',
        r.machineType,
        `Machine type with name '${mtm ? mtm[3] : lastSegment(String(r.machineType))}' does not exist in zone '${zone}'.`,
      );

    // disks: one boot disk created from a public image
    const disks = Array.isArray(r.disks) ? (r.disks as Array<Record<string, unknown>>) : [];
    const bootIdx = Math.max(
      0,
      disks.findIndex((d) => d.boot),
    );
    const boot = disks[bootIdx];
    if (!boot) throw invalidField('resource.disks', '', 'Boot disk must be specified.');
    const init = (boot.initializeParams ?? {}) as Record<string, unknown>;
    if (!init.sourceImage) throw requiredField(`resource.disks[${bootIdx}].initializeParams.sourceImage`);
    const image = resolveSourceImage(
      this.state,
      init.sourceImage,
      `resource.disks[${bootIdx}].initializeParams.sourceImage`,
    );
    const size = init.diskSizeGb === undefined ? image.diskSizeGb : Number(init.diskSizeGb);
    if (!Number.isInteger(size) || size < image.diskSizeGb || size > 65536)
      throw invalidField(
        `resource.disks[${bootIdx}].initializeParams.diskSizeGb`,
        init.diskSizeGb,
        `Requested disk size cannot be smaller than the image size (${image.diskSizeGb} GB).`,
      );
    if (disks.length > 1)
      throw invalidField('resource.disks', '', 'GCE emulator: only one (boot) disk is emulated.');

    // network interfaces: the default network only
    const nics = Array.isArray(r.networkInterfaces)
      ? (r.networkInterfaces as Array<Record<string, unknown>>)
      : [];
    if (nics.length !== 1)
      throw invalidField(
        'resource.networkInterfaces',
        '',
        'Exactly one network interface is supported by the GCE emulator.',
      );
    const net = projectPath(String(nics[0].network ?? 'global/networks/default'), this.state.project);
    if (net !== `projects/${this.state.project}/global/networks/default`)
      throw notFound(net ?? String(nics[0].network));
    const acs = Array.isArray(nics[0].accessConfigs)
      ? (nics[0].accessConfigs as Array<Record<string, unknown>>)
      : [];
    acs.forEach((ac, i) => {
      if ((ac.type ?? 'ONE_TO_ONE_NAT') !== 'ONE_TO_ONE_NAT')
        throw invalidField(
          `resource.networkInterfaces[0].accessConfigs[${i}].type`,
          ac.type,
          'Only ONE_TO_ONE_NAT is supported.',
        );
      if (ac.natIP)
        throw invalidField(
          `resource.networkInterfaces[0].accessConfigs[${i}].natIP`,
          ac.natIP,
          'Static external IPs for instances are not emulated.',
        );
    });

    const metadata = checkMetadataItems((r.metadata as { items?: unknown } | undefined)?.items);
    const tags = checkTags((r.tags as { items?: unknown } | undefined)?.items);
    const labels = checkLabels(r.labels);

    const id = newId();
    const selfLink = this.coll.url(scope, name);
    const rec: InstanceRec = {
      json: {
        kind: 'compute#instance',
        id,
        creationTimestamp: timestamp(),
        name,
        ...(r.description !== undefined ? { description: String(r.description) } : {}),
        machineType: this.state.links.url(`zones/${zone}/machineTypes/${mtm[3]}`),
        zone: this.state.links.url(scope),
        canIpForward: Boolean(r.canIpForward),
        networkInterfaces: [
          {
            kind: 'compute#networkInterface',
            network: this.state.links.url('global/networks/default'),
            subnetwork: this.state.links.url(`regions/${region}/subnetworks/default`),
            name: 'nic0',
            fingerprint: fingerprint([name, 'nic0']),
            stackType: 'IPV4_ONLY',
            ...(acs.length
              ? {
                  accessConfigs: acs.map((ac) => ({
                    kind: 'compute#accessConfig',
                    type: 'ONE_TO_ONE_NAT',
                    name: String(ac.name ?? 'External NAT'),
                    networkTier: String(ac.networkTier ?? 'PREMIUM'),
                  })),
                }
              : {}),
          },
        ],
        disks: [
          {
            kind: 'compute#attachedDisk',
            type: 'PERSISTENT',
            mode: 'READ_WRITE',
            source: this.state.links.url(`zones/${zone}/disks/${String(init.diskName ?? name)}`),
            deviceName: String(boot.deviceName ?? 'persistent-disk-0'),
            index: 0,
            boot: true,
            autoDelete: boot.autoDelete === undefined ? true : Boolean(boot.autoDelete),
            licenses: [],
            interface: 'SCSI',
            diskSizeGb: String(size),
            architecture: 'X86_64',
          },
        ],
        ...(Array.isArray(r.serviceAccounts) ? { serviceAccounts: r.serviceAccounts } : {}),
        selfLink,
        scheduling: {
          onHostMaintenance: 'MIGRATE',
          automaticRestart: true,
          preemptible: false,
          provisioningModel: 'STANDARD',
        },
        cpuPlatform: 'Intel Broadwell',
        startRestricted: false,
        deletionProtection: false,
        satisfiesPzi: false,
      },
      scope,
      ready: false,
      deleting: false,
      zone,
      status: 'PROVISIONING',
      externalNat: acs.length > 0,
      metadata,
      metadataFp: fp(metadata),
      tags,
      tagsFp: fp(tags),
      labels,
      labelFp: fp(labels),
      chain: Promise.resolve(),
    };
    if (!this.backing) rec.ip = this.ips.take(selfLink);
    return rec;
  }

  /** The work of an instance's insert operation: boot its VM, RUNNING; a failed one goes again. */
  private insertWork(rec: InstanceRec): OperationWork {
    const zone = rec.zone;
    const name = rec.json.name;
    const zoneSlowness = this.state.faults.slowness(zone);
    return {
      run: async () => {
        if (rec.deleting) return; // deleted while PROVISIONING: never boots
        rec.status = 'STAGING';
        if (this.backing) {
          const vm = backingVmName(this.state.project, zone, name);
          rec.vm = vm;
          const spec = this.guest(rec);
          rec.ip = await this.queue(rec, () => this.backing!.boot(vm, spec));
        }
        await delay(this.state.settings.createLatencyMs + zoneSlowness);
        if (!rec.deleting) {
          rec.status = 'RUNNING';
          rec.lastStart = timestamp();
        }
      },
      commit: () => {
        rec.ready = true;
      },
      rollback: async () => {
        this.coll.remove(rec);
        this.ips.release(rec.ip);
        if (rec.vm && this.backing) await this.queue(rec, () => this.backing!.remove(rec.vm!));
      },
    };
  }

  private delete(zone: string, name: string) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.get(scope, name);
    if (rec.deleting) throw notReady(this.coll.path(scope, name));
    rec.deleting = true;
    return this.state.operation(scope, 'delete', rec, {
      run: async () => {
        rec.status = 'STOPPING';
        await rec.chain;
        if (rec.vm && this.backing) await this.queue(rec, () => this.backing!.remove(rec.vm!));
        rec.status = 'TERMINATED';
      },
      commit: () => {
        this.coll.remove(rec);
        this.ips.release(rec.ip);
      },
      rollback: () => {
        rec.deleting = false;
      },
    });
  }

  private stop(zone: string, name: string) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.mutable(scope, name);
    if (rec.status === 'TERMINATED') return this.state.operation(scope, 'stop', rec, {});
    if (rec.status !== 'RUNNING') throw notReady(this.coll.path(scope, name));
    const before = rec.status;
    rec.status = 'STOPPING';
    return this.state.operation(scope, 'stop', rec, {
      run: async () => {
        if (rec.vm && this.backing) await this.queue(rec, () => this.backing!.stop(rec.vm!));
        rec.status = 'TERMINATED';
        rec.lastStop = timestamp();
      },
      rollback: () => {
        if (rec.status === 'STOPPING') rec.status = before;
      },
    });
  }

  private start(zone: string, name: string) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.mutable(scope, name);
    if (rec.status === 'RUNNING') return this.state.operation(scope, 'start', rec, {});
    if (rec.status !== 'TERMINATED') throw notReady(this.coll.path(scope, name));
    rec.status = 'STAGING';
    return this.state.operation(scope, 'start', rec, {
      run: async () => {
        if (rec.vm && this.backing)
          rec.ip = await this.queue(rec, () => this.backing!.start(rec.vm!, this.guest(rec)));
        if (!rec.deleting) {
          rec.status = 'RUNNING';
          rec.lastStart = timestamp();
        }
      },
      rollback: () => {
        if (rec.status === 'STAGING') rec.status = 'TERMINATED';
      },
    });
  }

  private setMetadata(zone: string, name: string, body: Record<string, unknown> | undefined) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.mutable(scope, name);
    if ((body?.fingerprint ?? '') !== rec.metadataFp) throw fingerprintMismatch('metadata');
    const items = checkMetadataItems(body?.items, 'metadata.items');
    const old = { items: rec.metadata, fp: rec.metadataFp };
    rec.metadata = items;
    rec.metadataFp = fp(items);
    return this.state.operation(scope, 'setMetadata', rec, {
      // The guest agent applies ssh-keys on a running VM; a stopped one gets them at its next start.
      run: async () => {
        if (rec.vm && this.backing && rec.status === 'RUNNING' && rec.ip) {
          const spec = this.guest(rec);
          const ip = rec.ip;
          await this.queue(rec, () => this.backing!.configure(rec.vm!, spec, ip, false));
        }
      },
      rollback: () => {
        if (rec.metadataFp === fp(items)) {
          rec.metadata = old.items;
          rec.metadataFp = old.fp;
        }
      },
    });
  }

  private setTags(zone: string, name: string, body: Record<string, unknown> | undefined) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.mutable(scope, name);
    if ((body?.fingerprint ?? '') !== rec.tagsFp) throw fingerprintMismatch('tags');
    const tags = checkTags(body?.items, 'tags.items');
    const old = { tags: rec.tags, fp: rec.tagsFp };
    rec.tags = tags;
    rec.tagsFp = fp(tags);
    return this.state.operation(scope, 'setTags', rec, {
      rollback: () => {
        if (rec.tagsFp === fp(tags)) Object.assign(rec, { tags: old.tags, tagsFp: old.fp });
      },
    });
  }

  private setLabels(zone: string, name: string, body: Record<string, unknown> | undefined) {
    const scope = this.state.zoneScope(zone);
    const rec = this.coll.mutable(scope, name);
    if ((body?.labelFingerprint ?? '') !== rec.labelFp) throw fingerprintMismatch('labels');
    const labels = checkLabels(body?.labels, 'labels');
    const old = { labels: rec.labels, fp: rec.labelFp };
    rec.labels = labels;
    rec.labelFp = fp(labels);
    return this.state.operation(scope, 'setLabels', rec, {
      rollback: () => {
        if (rec.labelFp === fp(labels)) Object.assign(rec, { labels: old.labels, labelFp: old.fp });
      },
    });
  }

  register(router: Router): void {
    const base = '/projects/:project/zones/:zone/instances';
    const s = this.state;
    router.post(base, ({ params, body }) => this.insert(params.zone, body));
    router.post(`${base}/bulkInsert`, ({ params, body }) => this.bulkInsert(params.zone, body));
    router.get(base, ({ params, query }) => {
      const scope = s.zoneScope(params.zone);
      return listResponse(
        this.coll.inScope(scope).map((r) => this.render(r)),
        query,
        'compute#instanceList',
        s.links.path(`${scope}/instances`),
        s.links.url(`${scope}/instances`),
      );
    });
    router.get(`${base}/:instance`, ({ params }) =>
      this.render(this.coll.get(s.zoneScope(params.zone), params.instance)),
    );
    router.delete(`${base}/:instance`, ({ params }) => this.delete(params.zone, params.instance));
    router.post(`${base}/:instance/start`, ({ params }) => this.start(params.zone, params.instance));
    router.post(`${base}/:instance/stop`, ({ params }) => this.stop(params.zone, params.instance));
    router.post(`${base}/:instance/setMetadata`, ({ params, body }) =>
      this.setMetadata(params.zone, params.instance, body),
    );
    router.post(`${base}/:instance/setTags`, ({ params, body }) =>
      this.setTags(params.zone, params.instance, body),
    );
    router.post(`${base}/:instance/setLabels`, ({ params, body }) =>
      this.setLabels(params.zone, params.instance, body),
    );
    router.get('/projects/:project/aggregated/instances', ({ query }) =>
      aggregatedResponse(
        s.settings.zones.map((z) => `zones/${z}`),
        (scope) => this.coll.inScope(scope).map((r) => this.render(r)),
        'instances',
        query,
        'compute#instanceAggregatedList',
        s.links.path('aggregated/instances'),
        s.links.url('aggregated/instances'),
      ),
    );
  }

  dump(): unknown[] {
    return this.coll
      .all()
      .map((r) => ({ ...this.render(r), _emulator: { vm: r.vm, ready: r.ready, deleting: r.deleting } }));
  }
}
