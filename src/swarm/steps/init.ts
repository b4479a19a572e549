import { swarmState } from '../calls.js';
import { initSwarm } from '../membership.js';
import type { SwarmStep } from './context.js';

/** `swarm init` on the chosen manager, or use the swarm it already manages. */
export const initOrAdopt: SwarmStep = {
  title: 'swarm init, or use the existing swarm',
  async run(ctx) {
    const leader = ctx.members[ctx.leader];
    if (!ctx.init) {
      ctx.note(`Using the existing swarm managed by ${leader.name}`);
      return;
    }
    ctx.change(`Initializing a swarm on ${leader.name} (advertising ${leader.advertiseAddr})`);
    ctx.result.initialized = (await initSwarm(leader)).created;
    ctx.states[ctx.leader] = await swarmState(leader.endpoint);
  },
};
