/**
 * Batch creation on GCE: one `instances.bulkInsert` per zone and role for the machines a cluster run
 * makes, with `perInstanceProperties` naming them (the map's keys are the instance names). The quota
 * (INSTANCES, CPUS of the region) is checked before anything is made. The request (body, requestId,
 * bootstrap key) is journalled before it is sent, so a retried or re-run create sends the same
 * requestId and GCE makes the instances once. Instances that failed (each has its own insert
 * operation, grouped by `operationGroupId`) are reported per machine; the caller creates those
 * singly. Security trade-off (docs/drivers/google.md): the batch can give every instance only one
 * metadata set, so all get one bootstrap key, used once per machine to pin its host key and install
 * the machine's own key; the bootstrap private key is deleted when the batch is over.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { byRole, resendable, type CallGroup } from '../../src/cluster/batch-journal.js';
import type { BatchOutcome, BatchRequest, BatchResult } from '../../src/driver/contract.js';
import { UserError, oneLine } from '../../src/errors.js';
import { generateSshKey } from '../../src/ssh/keys.js';
import { connectGce } from '../../src/cloud/gce/connect.js';
import { isAlreadyExists } from '../../src/cloud/gce/errors.js';
import { type Gce, type Instance, type Operation } from '../../src/cloud/gce/api.js';
import { LABEL, encodeLabelValue, ownerTag, resourceLabels } from '../../src/cloud/gce/labels.js';
import { ensureOwnerFirewalls } from './firewall.js';
import { instanceBody, sshKeysEntry } from './instance.js';
import { requireAdminCidrs, settingsFromFlags, type GoogleSettings } from './settings.js';
import { BATCH_LABEL } from './batch-labels.js';
import { GoogleDriver } from './driver.js';

interface Journalled {
  requestId: string;
  batch: string;
  zone: string;
  names: string[];
  body: Record<string, unknown>;
  at: number;
}

type Group = CallGroup<Journalled>;

/** The body of one bulkInsert: the instances' shared properties, their names as the map's keys. */
export function bulkBody(o: {
  settings: GoogleSettings;
  names: string[];
  bootstrapPublicKey: string;
  labels: Record<string, string>;
  tags: string[];
}): Record<string, unknown> {
  const one = instanceBody({
    name: o.names[0],
    settings: o.settings,
    sshKeys: sshKeysEntry(o.settings.username, o.bootstrapPublicKey),
    tags: o.tags,
    labels: o.labels,
  }) as Record<string, unknown>;
  delete one.name;
  // InstanceProperties take a machine type and disk type by name, not by URL.
  one.machineType = o.settings.machineType.split('/').pop();
  const disks = one.disks as Array<{ initializeParams: Record<string, unknown> }>;
  for (const d of disks) d.initializeParams.diskType = String(d.initializeParams.diskType).split('/').pop();
  return {
    count: String(o.names.length),
    minCount: '1',
    instanceProperties: one,
    perInstanceProperties: Object.fromEntries(o.names.map((n) => [n, {}])),
  };
}

/** Room for `count` more instances of the machine type in the region, or a UserError naming the quota. */
async function checkQuota(gce: Gce, s: GoogleSettings, count: number): Promise<void> {
  const [region, type] = await Promise.all([
    gce.call(`reading region ${s.region}`, (o) =>
      gce.regions.get({ project: gce.project, region: s.region }, o),
    ),
    gce.call(`reading machine type ${s.machineType}`, (o) =>
      gce.machineTypes.get(
        { project: gce.project, zone: s.zone, machineType: s.machineType.split('/').pop()! },
        o,
      ),
    ),
  ]);
  const cpus = Number(type.guestCpus ?? 1);
  const need: Record<string, number> = { INSTANCES: count, CPUS: count * cpus };
  for (const q of region.quotas ?? []) {
    const want = need[String(q.metric)];
    if (want === undefined) continue;
    const room = Number(q.limit ?? 0) - Number(q.usage ?? 0);
    if (room < want)
      throw new UserError(
        `quota ${q.metric} in region ${s.region} of project ${gce.project}: ${want} needed for ${count} ` +
          `${s.machineType} instance(s), ${Math.max(0, room)} left (limit ${q.limit}, in use ${q.usage}); ` +
          'nothing was created: ask for more quota or make fewer machines',
      );
  }
}

export async function createMachines(req: BatchRequest): Promise<BatchResult> {
  const s = settingsFromFlags(req.flags);
  const none: BatchResult = { outcomes: [], done: async () => undefined };
  // Adopting instances or a fixed address is one machine at a time.
  if (s.useExisting || s.address) return none;
  requireAdminCidrs(s);
  const cluster = req.machines[0].cluster?.name;
  const storeId = req.machines[0].storeId;
  if (!cluster || !storeId) return none;
  const gce = await connectGce({ project: s.project, endpoint: s.endpoint });

  const groups: Group[] = [];
  for (const [role, machines] of byRole(req.machines)) {
    const key = `gce-${s.zone}-${role}`;
    const names = machines.map((m) => m.machineName);
    const prev = await req.journal.read<Journalled>(key);
    if (prev?.zone === s.zone && resendable(prev, names)) {
      req.log(`resending the ${role} batch of an interrupted run (same requestId: GCE makes it once)`);
      groups.push({ key, role, machines, rec: prev, replay: true });
      continue;
    }
    if (prev) await removeLeftovers(gce, prev, names, storeId, req.log);
    const publicKey = await generateSshKey(req.journal.path(`${key}.key`), `swarmup-batch-${cluster}`);
    const batch = randomBytes(5).toString('hex');
    const labels = {
      ...resourceLabels({
        user: s.labels,
        membership: machines[0].cluster?.labels,
        cluster,
        role,
        store: storeId,
      }),
      [BATCH_LABEL]: batch,
    };
    const owner = { kind: 'cluster' as const, name: cluster };
    const body = bulkBody({
      settings: s,
      names,
      bootstrapPublicKey: publicKey,
      labels,
      tags: [...new Set(['swarmup', ownerTag(owner), ...s.tags])],
    });
    groups.push({
      key,
      role,
      machines,
      rec: { requestId: randomUUID(), batch, zone: s.zone, names, body, at: Date.now() },
      replay: false,
    });
  }
  const fresh = groups.filter((g) => !g.replay).reduce((n, g) => n + g.machines.length, 0);
  if (fresh) await checkQuota(gce, s, fresh);
  await ensureOwnerFirewalls(gce, { kind: 'cluster', name: cluster }, s, req.log);

  const outcomes: BatchOutcome[] = [];
  await Promise.all(groups.map(async (g) => outcomes.push(...(await runGroup(gce, s, req, g)))));
  return {
    outcomes,
    done: async () => {
      for (const g of groups) {
        await rm(req.journal.path(`${g.key}.key`), { force: true });
        await rm(req.journal.path(`${g.key}.key.pub`), { force: true });
        await req.journal.remove(g.key);
      }
    },
  };
}

/** Send one group's bulkInsert (journalled first), wait for it, and tell per machine what was made. */
async function runGroup(gce: Gce, s: GoogleSettings, req: BatchRequest, g: Group): Promise<BatchOutcome[]> {
  const names = g.machines.map((m) => m.machineName);
  const what = `creating ${names.length} ${g.role} instance(s) in ${s.zone} (instances.bulkInsert)`;
  if (!g.replay) await req.journal.write(g.key, g.rec);
  req.log(
    `${g.replay ? 'Resending' : 'Sending'} one bulkInsert for ${names.length} ${g.role}(s) in ${s.zone} (${s.machineType})...`,
  );
  let failed: Error | undefined;
  let op: Operation | undefined;
  try {
    op = (
      await gce.call(what, (o) =>
        gce.instances.bulkInsert(
          {
            requestId: g.rec.requestId,
            project: gce.project,
            zone: s.zone,
            bulkInsertInstanceResourceResource: g.rec.body,
          },
          o,
        ),
      )
    ).latestResponse as Operation;
    op = await gce.wait(what, op);
  } catch (err) {
    // Names taken (by anyone): each machine goes its own way, where leftovers are told from others'.
    failed = isAlreadyExists(err) ? new Error(`${oneLine(err)}`) : (err as Error);
    if (!isAlreadyExists(err) && !(err as { errors?: unknown }).errors) throw err;
  }
  const made = failed ? new Map<string, Instance>() : await batchInstances(gce, s.zone, g.rec.batch);
  const reasons =
    failed || !op?.operationGroupId ? new Map<string, string>() : await failures(gce, s.zone, op);
  return g.machines.map((ctx): BatchOutcome => {
    const name = ctx.machineName;
    const i = made.get(name);
    if (i)
      return {
        name,
        driver: GoogleDriver.fromBatch(ctx, req.flags, g.rec.batch, req.journal.path(`${g.key}.key`)),
      };
    return {
      name,
      error:
        failed ?? new Error(`the bulkInsert did not make ${name}: ${reasons.get(name) ?? 'no instance'}`),
    };
  });
}

/** The instances a batch made (its label), by name. */
async function batchInstances(gce: Gce, zone: string, batch: string): Promise<Map<string, Instance>> {
  const list = await gce.call(`listing the instances of batch ${batch}`, (o) =>
    gce.instances.list({ project: gce.project, zone, filter: `labels.${BATCH_LABEL} = "${batch}"` }, o),
  );
  return new Map(list.filter((i) => i.status !== 'STOPPING').map((i) => [String(i.name), i]));
}

/** Why instances of a bulkInsert failed: their own insert operations (one operationGroupId). */
async function failures(gce: Gce, zone: string, bulk: Operation): Promise<Map<string, string>> {
  const ops = await gce.zoneOperationList(
    'reading the operations of a bulkInsert',
    zone,
    `operationGroupId = "${bulk.operationGroupId}"`,
  );
  const out = new Map<string, string>();
  for (const o of ops) {
    const e = o.error?.errors?.[0];
    if (o.operationType === 'insert' && e)
      out.set(String(o.targetLink).split('/').pop()!, `${e.message} (${e.code})`);
  }
  return out;
}

/**
 * A journalled batch not resent (too old, or other machines now): its instances that are ours (this
 * store) and named like machines this run makes are deleted, so the new batch can have the names.
 */
async function removeLeftovers(
  gce: Gce,
  prev: Journalled,
  names: string[],
  storeId: string,
  log: (m: string) => void,
): Promise<void> {
  const made = await batchInstances(gce, prev.zone, prev.batch);
  for (const [name, i] of made) {
    if (!names.includes(name) || i.labels?.[LABEL.store] !== encodeLabelValue(storeId)) continue;
    log(`Removing instance ${name} left by an interrupted batch...`);
    await gce.remove(`deleting instance ${name} in ${prev.zone}`, (o, requestId) =>
      gce.instances.delete({ requestId, project: gce.project, zone: prev.zone, instance: name }, o),
    );
  }
}
