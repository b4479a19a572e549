import { settledState } from '../calls.js';
import { leaveSwarm } from '../membership.js';
import type { SwarmStep } from './context.js';

/** Workers of a swarm whose managers are all gone leave it, to join the new one. */
export const reclaimOrphans: SwarmStep = {
  title: 'workers whose managers are all gone leave their dead swarm',
  async run(ctx) {
    for (const i of ctx.orphans) {
      const m = ctx.members[i];
      ctx.change(`${m.name} is a worker of a swarm whose managers are all gone: it leaves it`);
      await leaveSwarm(m.endpoint, true);
      ctx.states[i] = await settledState(m.endpoint);
    }
  },
};
