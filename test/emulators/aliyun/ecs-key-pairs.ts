// ECS key pairs (ImportKeyPair's public key becomes root's authorized key on the instance's VM).
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Context, Handler } from './context.js';
import { ApiError, missing } from './errors.js';
import { slbTime } from './ids.js';
import type { EcsState, KeyPair } from './ecs-state.js';
import { matchesTags, mergeTags, paginate, type Params, tagList, wildcard } from './params.js';

export class KeyPairs {
  constructor(
    private ctx: Context,
    private s: EcsState,
  ) {}

  handlers(): Record<string, Handler> {
    return {
      ImportKeyPair: (p) => this.importKeyPair(p),
      DescribeKeyPairs: (p) => this.describeKeyPairs(p),
      DeleteKeyPairs: (p) => this.deleteKeyPairs(p),
    };
  }

  private importKeyPair(p: Params): Record<string, unknown> {
    const regionId = this.ctx.region(p);
    const name = p.req('KeyPairName');
    if (!/^[A-Za-z\u4e00-\u9fa5][\w.:\-\u4e00-\u9fa5]{1,127}$/.test(name)) {
      throw new ApiError('InvalidKeyPairName.Malformed', 'Specified key pair name is not valid.');
    }
    const body = p.req('PublicKeyBody').trim();
    const parsed = ssh2.utils.parseKey(body);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || !key || key.isPrivateKey()) {
      throw new ApiError(
        'InvalidPublicKeyBody.Malformed',
        'The specified PublicKeyBody is not a valid public key.',
      );
    }
    if (this.s.keyPairs.has(name)) throw new ApiError('KeyPair.AlreadyExist', 'The key pair already exist.');
    const digest = createHash('md5').update(key.getPublicSSH()).digest('hex');
    const kp: KeyPair = {
      name,
      regionId,
      publicKey: body,
      fingerprint: digest.match(/../g)!.join(':'),
      created: Date.now(),
      tags: new Map(),
    };
    mergeTags(kp.tags, p.tags());
    this.s.keyPairs.set(name, kp);
    return { KeyPairName: name, KeyPairFingerPrint: kp.fingerprint };
  }

  private describeKeyPairs(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const name = p.str('KeyPairName');
    const names = p.jsonStrings('KeyPairNames', 'InvalidParameter');
    const tags = p.tags();
    const all = [...this.s.keyPairs.values()].filter(
      (k) =>
        k.regionId === region &&
        (!name || wildcard(name, k.name)) &&
        (!names || names.includes(k.name)) &&
        (!p.str('KeyPairFingerPrint') || k.fingerprint === p.str('KeyPairFingerPrint')) &&
        matchesTags(k.tags, tags),
    );
    const { page, ...rest } = paginate(p, all, 50);
    return {
      KeyPairs: {
        KeyPair: page.map((k) => ({
          KeyPairName: k.name,
          KeyPairFingerPrint: k.fingerprint,
          CreationTime: slbTime(k.created),
          ResourceGroupId: '',
          Tags: { Tag: tagList(k.tags) },
        })),
      },
      ...rest,
    };
  }

  private deleteKeyPairs(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const names = p.jsonStrings('KeyPairNames', 'InvalidParameter', 100);
    if (!names) throw missing('KeyPairNames');
    for (const n of names) if (this.s.keyPairs.get(n)?.regionId === region) this.s.keyPairs.delete(n);
    return {};
  }
}
