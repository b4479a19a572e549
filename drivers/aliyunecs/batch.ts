/**
 * Batch creation on ECS: one RunInstances (Amount ≤ 100, MinAmount 1, `HostNames.N` naming each
 * instance) per role, with one bootstrap key pair for the call. The region's vCPU quota is read
 * first (before the security group or anything else is made); a DryRun then checks parameters and
 * stock: no instance is made when they do not allow it. The call (parameters, ClientToken,
 * bootstrap key) is journalled before it is sent, so a retried or re-run create sends the same
 * ClientToken and ECS makes the instances once. Instances out of stock are reported per machine; the
 * caller creates those singly. Security trade-off (docs/drivers/aliyunecs.md): a call takes one key
 * pair, so each machine is first reached with the batch's key, gets its own key installed and the
 * batch key removed; the bootstrap key pair and private key are deleted when the batch is over.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { byRole, resendable, type CallGroup } from '../../src/cluster/batch-journal.js';
import type { BatchOutcome, BatchRequest, BatchResult, DriverContext } from '../../src/driver/contract.js';
import { UserError, oneLine } from '../../src/errors.js';
import { generateSshKey, loadPrivateKey } from '../../src/ssh/keys.js';
import {
  aliyunClient,
  codeOf,
  credentialsFrom,
  requireCredentials,
  type AliyunClient,
} from '../../src/cloud/aliyun/client.js';
import {
  accountAttributes,
  deleteInstance,
  deleteKeyPairs,
  describeInstances,
  dryRunInstances,
  importKeyPair,
  instanceRequest,
  instanceTypeCpus,
  runInstances,
} from '../../src/cloud/aliyun/ecs.js';
import { ensureSecurityGroup } from '../../src/cloud/aliyun/firewall.js';
import { TAG, resourceTags, tagsOf } from '../../src/cloud/aliyun/tags.js';
import { BATCH_TAG } from './batch-tags.js';
import { AliyunDriver, instanceParams } from './driver.js';
import { requireAdminCidrs, securityGroupName, settingsFrom, type AliyunSettings } from './settings.js';

/** One RunInstances makes at most this many instances. */
export const MAX_AMOUNT = 100;

interface Journalled {
  token: string;
  batch: string;
  keyPair: string;
  names: string[];
  params: Record<string, unknown>;
  at: number;
}

interface Group extends CallGroup<Journalled> {
  /** The run's bootstrap private key (shared by its calls). */
  keyFile: string;
}

export async function createMachines(req: BatchRequest): Promise<BatchResult> {
  const s = settingsFrom(req.flags);
  const none: BatchResult = { outcomes: [], done: async () => undefined };
  const cluster = req.machines[0].cluster;
  const storeId = req.machines[0].storeId;
  // The user's own key (pair) or a fixed address are one machine at a time.
  if (s.sshKeyPair || s.sshKeyPath || s.privateIp || !cluster || !storeId) return none;
  requireAdminCidrs(s);
  const creds = credentialsFrom(req.flags) ?? requireCredentials(req.flags);
  const c = await aliyunClient({ regionId: s.regionId, endpoint: s.endpoint }, creds);
  const tags = (role: string, batch: string) => ({
    ...resourceTags({ user: s.tags, cluster, role, storeId }),
    [BATCH_TAG]: batch,
  });
  // One bootstrap key (pair) for the whole run, shared by its calls; reused by a re-run that resends.
  const bootKey = `ecs-${s.regionId}-bootstrap`;
  const keyFile = req.journal.path(`${bootKey}.key`);
  const prevBoot = await req.journal.read<{ keyPair: string; at: number }>(bootKey);
  const groups: Group[] = [];
  const planned: Array<{ key: string; role: string; machines: DriverContext[]; prev?: Journalled }> = [];
  for (const [role, all] of byRole(req.machines)) {
    for (let i = 0; i < all.length; i += MAX_AMOUNT) {
      const key = `ecs-${s.regionId}-${role}-${i / MAX_AMOUNT}`;
      planned.push({
        key,
        role,
        machines: all.slice(i, i + MAX_AMOUNT),
        prev: await req.journal.read<Journalled>(key),
      });
    }
  }
  const replays = (x: (typeof planned)[number]) =>
    !!prevBoot &&
    x.prev?.keyPair === prevBoot.keyPair &&
    resendable(
      x.prev,
      x.machines.map((m) => m.machineName),
    );
  const reuse = !!prevBoot && planned.some(replays);
  // The vCPU quota before anything is made (the security group included): reads only.
  const fresh = planned.filter((x) => !(reuse && replays(x))).reduce((n, x) => n + x.machines.length, 0);
  if (fresh) await checkQuota(c, s, fresh);
  let keyPair: string;
  let publicKey: string;
  if (reuse) {
    keyPair = prevBoot.keyPair;
    publicKey = (await loadPrivateKey(keyFile)).publicKey;
  } else {
    if (prevBoot) await deleteKeyPairs(c, [prevBoot.keyPair]).catch(() => undefined);
    keyPair = `swarmup-${cluster.name}-b${randomBytes(5).toString('hex')}`.slice(0, 128);
    publicKey = await generateSshKey(keyFile, `swarmup-batch-${cluster.name}`);
  }
  const securityGroupId = await ensureSecurityGroup(c, {
    name: securityGroupName(s, cluster.name, ''),
    vpcId: s.vpcId,
    adminCidrs: s.adminCidrs,
    tags: resourceTags({ user: s.tags, cluster, role: 'firewall', storeId }),
    cluster: cluster.name,
    log: req.log,
  });
  for (const x of planned) {
    const names = x.machines.map((m) => m.machineName);
    if (reuse && replays(x)) {
      req.log(`resending the ${x.role} batch of an interrupted run (same ClientToken: ECS makes it once)`);
      groups.push({ key: x.key, role: x.role, machines: x.machines, rec: x.prev!, replay: true, keyFile });
      continue;
    }
    if (x.prev) await removeLeftovers(c, x.prev, names, storeId, req.log);
    const batch = randomBytes(5).toString('hex');
    const params = {
      ...instanceRequest(
        c,
        instanceParams(s, {
          name: `${cluster.name}-${x.role}`,
          securityGroupId,
          keyPairName: keyPair,
          tags: tags(x.role, batch),
        }),
      ),
      HostName: undefined,
      // Journalled: never the password (sent with each call from the flags, kept nowhere).
      Password: undefined,
      InstanceName: `swarmup-${cluster.name}-${x.role}`,
      HostNames: names,
      Amount: names.length,
      MinAmount: 1,
    };
    groups.push({
      key: x.key,
      role: x.role,
      machines: x.machines,
      rec: { token: randomUUID(), batch, keyPair, names, params, at: Date.now() },
      replay: false,
      keyFile,
    });
  }
  // Stock and parameters, before an instance is made (without the key pair, not made yet). The
  // DryRun needs the security group (RunInstances requires one), so it comes after the group.
  for (const g of groups.filter((x) => !x.replay)) {
    try {
      await dryRunInstances(c, { ...g.rec.params, Password: s.sshPassword, KeyPairName: undefined });
    } catch (err) {
      throw new UserError(
        `${g.machines.length} ${g.role} instance(s) of type ${s.instanceType} cannot be made in ${s.regionId}: ${oneLine(err)}; no instance was created`,
      );
    }
  }
  await req.journal.write(bootKey, { keyPair, at: prevBoot && reuse ? prevBoot.at : Date.now() });
  try {
    await importKeyPair(
      c,
      keyPair,
      publicKey,
      resourceTags({ user: s.tags, cluster, role: 'bootstrap', storeId }),
    );
  } catch (err) {
    if (!/AlreadyExist/i.test(codeOf(err) ?? '')) throw err; // a resent batch imported it already
  }
  if (s.sshPassword)
    req.log(
      'Setting the root password from --aliyunecs-ssh-password (ECS_SSH_PASSWORD); swarmup still logs in with its SSH key',
    );
  const outcomes: BatchOutcome[] = [];
  await Promise.all(
    groups.map(async (g) => outcomes.push(...(await runGroup(c, req, g, securityGroupId, s.sshPassword)))),
  );
  return {
    outcomes,
    done: async () => {
      // The calls' records first: a run killed in here then no longer resends with a missing key.
      for (const g of groups) await req.journal.remove(g.key);
      await deleteKeyPairs(c, [keyPair]);
      for (const f of [`${bootKey}.key`, `${bootKey}.key.pub`])
        await rm(req.journal.path(f), { force: true });
      await req.journal.remove(bootKey);
    },
  };
}

const MAX_VCPUS = 'max-postpaid-instance-vcpu-count';
const USED_VCPUS = 'used-postpaid-instance-vcpu-count';

/**
 * Room for `count` more pay-as-you-go instances of the type in the region's vCPU quota, or a
 * UserError naming the quota, what the machines need and what is left. Reads only
 * (DescribeAccountAttributes, DescribeInstanceTypes). A type the API does not list is left to the
 * DryRun, which refuses it with the API's own words.
 */
async function checkQuota(c: AliyunClient, s: AliyunSettings, count: number): Promise<void> {
  const [attrs, cpus] = await Promise.all([
    accountAttributes(c, [MAX_VCPUS, USED_VCPUS]),
    instanceTypeCpus(c, s.instanceType),
  ]);
  const limit = Number(attrs.get(MAX_VCPUS));
  if (cpus === undefined || !Number.isFinite(limit)) return;
  const used = Number(attrs.get(USED_VCPUS) ?? 0);
  const want = count * cpus;
  const room = limit - used;
  if (room < want)
    throw new UserError(
      `quota ${MAX_VCPUS} in ${s.regionId}: ${want} vCPUs needed for ${count} ${s.instanceType} instance(s) ` +
        `(${cpus} each), ${Math.max(0, room)} left (limit ${limit}, in use ${used}); ` +
        'nothing was created: ask for more quota or make fewer machines',
    );
}

/** Journal, one RunInstances; per machine what was made. */
async function runGroup(
  c: AliyunClient,
  req: BatchRequest,
  g: Group,
  securityGroupId: string,
  password: string | undefined,
): Promise<BatchOutcome[]> {
  if (!g.replay) await req.journal.write(g.key, g.rec);
  req.log(`${g.replay ? 'Resending' : 'Sending'} one RunInstances for ${g.machines.length} ${g.role}(s)...`);
  let ids: string[] = [];
  let failed: Error | undefined;
  try {
    ids = await runInstances(c, { ...g.rec.params, Password: password }, g.rec.token);
  } catch (err) {
    if (codeOf(err) !== 'OperationDenied.NoStock') throw err;
    failed = err as Error;
  }
  const made = new Map<string, string>();
  for (let i = 0; i < ids.length; i += MAX_AMOUNT) {
    for (const inst of await describeInstances(c, { instanceIds: ids.slice(i, i + MAX_AMOUNT) }))
      if (inst.HostName) made.set(inst.HostName, inst.InstanceId);
  }
  return g.machines.map((ctx): BatchOutcome => {
    const name = ctx.machineName;
    const instanceId = made.get(name);
    if (instanceId)
      return {
        name,
        driver: AliyunDriver.fromBatch(ctx, req.flags, {
          instanceId,
          batch: g.rec.batch,
          securityGroupId,
          bootstrapKey: g.keyFile,
        }),
      };
    return {
      name,
      error:
        failed ??
        new Error(`RunInstances made ${made.size} of ${g.machines.length} (out of stock); not ${name}`),
    };
  });
}

/** A journalled call not resent: its instances of this store named like machines made now are deleted. */
async function removeLeftovers(
  c: AliyunClient,
  prev: Journalled,
  names: string[],
  storeId: string,
  log: (m: string) => void,
): Promise<void> {
  const found = await describeInstances(c, { tag: { key: BATCH_TAG, value: prev.batch } });
  for (const i of found) {
    if (!names.includes(i.HostName ?? '') || tagsOf(i)[TAG.store] !== storeId) continue;
    log(`Removing instance ${i.HostName} (${i.InstanceId}) left by an interrupted batch...`);
    await deleteInstance(c, i.InstanceId);
  }
}
