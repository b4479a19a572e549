import { describe, it, expect } from 'vitest';
import { planLocal, type LocalCurrent } from '../../src/lb/local/backend.js';
import { configCheckPassed, parseState, renderConfig, type LocalState } from '../../src/lb/local/haproxy.js';
import {
  currentWorker,
  decodeAddress,
  listeningPorts,
  parseProbe,
  portsTaken,
} from '../../src/lb/local/runtime.js';
import { firstFileOf, tarOf } from '../../src/lb/local/tar.js';
import type { Listener } from '../../src/lb/model.js';
import { formatPlan } from '../../src/lb/plan.js';

const web: Listener = {
  protocol: 'tcp',
  port: 18081,
  backendPort: 18081,
  mode: 'host',
  services: ['web'],
  backends: [
    { node: 'n1', address: '172.29.0.2' },
    { node: 'n2', address: '172.29.0.3' },
  ],
};
const api: Listener = { ...web, port: 18082, backendPort: 18082, mode: 'ingress', services: ['api'] };
const dns: Listener = { ...web, protocol: 'udp', port: 18083, backendPort: 18083, services: ['dns'] };

const state = (listeners: Listener[], bind = '127.0.0.1'): LocalState => ({
  version: 1,
  cluster: 'c1',
  bind,
  listeners,
});

/** A running LB whose config records `listeners` and whose haproxy listens on `ports`. */
function running(
  listeners: Listener[],
  ports = listeners.map((l) => l.port),
  bind = '127.0.0.1',
): LocalCurrent {
  const s = state(listeners, bind);
  return {
    cluster: 'c1',
    container: {
      id: 'abc',
      name: 'swarmup-lb-c1',
      image: 'haproxy:lts',
      running: true,
      status: 'running',
      startedAt: '2026-01-01T00:00:00Z',
    },
    config: renderConfig(s),
    state: s,
    runtime: { masterPid: 1, workers: [{ pid: 8, start: 100, ports }], others: [] },
  };
}

describe('haproxy config', () => {
  it('renders TCP frontends and checked servers, and records the state', () => {
    const s = state([web, api]);
    const cfg = renderConfig(s);
    expect(cfg).toContain('frontend tcp-18081\n  bind 127.0.0.1:18081\n  default_backend tcp-18081\n');
    expect(cfg).toContain('  server n1 172.29.0.2:18081 check\n  server n2 172.29.0.3:18081 check\n');
    expect(cfg).toContain('  mode tcp\n');
    expect(parseState(cfg)).toEqual(s);
  });

  it('brackets IPv6 addresses and cleans server names', () => {
    const cfg = renderConfig(
      state([{ ...web, backends: [{ node: 'odd name/1', address: 'fd00::5' }] }], '::1'),
    );
    expect(cfg).toContain('  bind [::1]:18081\n');
    expect(cfg).toContain('  server odd_name_1 [fd00::5]:18081 check\n');
  });

  it('reads no state from a foreign or broken config', () => {
    expect(parseState('global\n  daemon\n')).toBeUndefined();
    expect(parseState('# swarmup-lb-state: {not json\n')).toBeUndefined();
  });

  it('accepts haproxy -c exit 2 only for "no listener"', () => {
    expect(configCheckPassed(0, '')).toBe(true);
    expect(
      configCheckPassed(2, 'Configuration file has no error but will not start (no listener) => exit(2).'),
    ).toBe(true);
    expect(configCheckPassed(1, '[ALERT] parsing error')).toBe(false);
  });
});

describe('planLocal', () => {
  it('creates the container and every TCP listener, and skips UDP with a note', () => {
    const lp = planLocal({ cluster: 'c1' }, [web, dns], { image: 'img:1' });
    expect(lp.action).toBe('create');
    expect(formatPlan(lp.plan)).toBe(
      [
        '+ create container swarmup-lb-c1 (img:1, host network, binds 127.0.0.1)',
        '+ create listener tcp/18081 → 2 backends (web, host mode)',
        '! skip listener udp/18083: unsupported locally: haproxy proxies TCP, not UDP (dns, host mode)',
        'Plan: 2 to create, 0 to update, 0 to delete.',
        '',
      ].join('\n'),
    );
    expect(lp.next.listeners).toEqual([web]);
    expect(lp.config).not.toContain('18083');
  });

  it('does not create a container for nothing', () => {
    const lp = planLocal({ cluster: 'c1' }, [dns]);
    expect(lp.action).toBe('none');
    expect(lp.plan.steps).toEqual([]);
    expect(lp.image).toBe('haproxy:lts');
  });

  it('changes nothing when config and runtime agree', () => {
    const lp = planLocal(running([web, api]), [api, web]);
    expect(lp.action).toBe('none');
    expect(lp.writeConfig).toBe(false);
    expect(formatPlan(lp.plan)).toBe('No changes.\n');
  });

  it('updates a listener whose backends changed and deletes one that went away', () => {
    const drained = { ...api, backends: [web.backends[0]] };
    const lp = planLocal(running([web, api]), [drained]);
    expect(lp.action).toBe('reload');
    expect(lp.writeConfig).toBe(true);
    expect(formatPlan(lp.plan)).toBe(
      [
        '- delete listener tcp/18081 (web, host mode)',
        '~ update listener tcp/18082 backends -n2 → 1 backend (api, ingress mode)',
        'Plan: 0 to create, 1 to update, 1 to delete.',
        '',
      ].join('\n'),
    );
  });

  it('keeps the container (and its bind) when no listener is left', () => {
    const lp = planLocal(running([web], [18081], '0.0.0.0'), []);
    expect(lp.action).toBe('reload');
    expect(lp.next).toEqual(state([], '0.0.0.0'));
    expect(lp.plan.steps.map((s) => `${s.op} ${s.name}`)).toEqual(['delete tcp/18081']);
  });

  it('reloads a listener haproxy does not listen on', () => {
    const lp = planLocal(running([web, api], [18081]), [web, api]);
    expect(lp.action).toBe('reload');
    expect(lp.writeConfig).toBe(false);
    expect(formatPlan(lp.plan)).toContain('~ update listener tcp/18082 not listening → 2 backends');
  });

  it('rebinds every listener when --bind changes', () => {
    const lp = planLocal(running([web]), [web], { bind: '0.0.0.0' });
    expect(formatPlan(lp.plan)).toContain('~ update listener tcp/18081 bind 127.0.0.1 → 0.0.0.0');
  });

  it('recreates for a different --lb-image only when one is given', () => {
    expect(planLocal(running([web]), [web]).action).toBe('none');
    const lp = planLocal(running([web]), [web], { image: 'haproxy:3.0' });
    expect(lp.action).toBe('recreate');
    expect(lp.plan.steps[0]).toEqual({
      op: 'update',
      kind: 'container',
      name: 'swarmup-lb-c1',
      detail: 'image haproxy:lts → haproxy:3.0 (recreate)',
    });
  });

  it('starts a stopped container', () => {
    const cur = running([web]);
    cur.container = { ...cur.container!, running: false, status: 'exited' };
    cur.runtime = undefined;
    const lp = planLocal(cur, [web]);
    expect(lp.action).toBe('start');
    expect(formatPlan(lp.plan)).toBe(
      '~ update container swarmup-lb-c1 start (exited)\nPlan: 0 to create, 1 to update, 0 to delete.\n',
    );
  });

  it('rewrites a config whose format changed even if the listeners are the same', () => {
    const cur = running([web]);
    cur.config = cur.config!.replace('timeout connect 5s', 'timeout connect 9s');
    const lp = planLocal(cur, [web]);
    expect(lp.action).toBe('reload');
    expect(lp.plan.steps.map((s) => s.kind)).toEqual(['config']);
  });
});

describe('runtime probe', () => {
  const out = [
    'P 1 (haproxy) S 0 1 1 0 -1 4194560 3122 0 7 0 5 0 0 0 20 0 1 0 443371 97755136 3197',
    'S 1 154329',
    'P 8 (haproxy) S 1 1 1 0 -1 4194368 492 0 0 0 0 0 0 0 20 0 2 0 443381 102305792 2041',
    'S 8 154330',
    'S 8 154332',
    'P 29 (haproxy) S 1 1 1 0 -1 4194368 492 0 0 0 0 0 0 0 20 0 2 0 443999 102305792 2041',
    'S 29 154340',
    'S 29 154341',
    'N',
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:46AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 154340 1 0',
    '   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 635 1 0',
    '   2: 0100007F:46AE 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 154341 1 0',
    '   3: 0100007F:46AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 154332 1 0',
    '  sl  local_address                         remote_address                        st tx_queue',
    '   0: 00000000000000000000000001000000:46B0 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 154341 1 0',
  ].join('\n');

  it("finds the master, the workers by age, and each worker's listening ports", () => {
    const r = parseProbe(out);
    expect(r.masterPid).toBe(1);
    expect(r.workers.map((w) => w.pid)).toEqual([8, 29]);
    expect(r.workers[0].ports).toEqual([18095]);
    expect(currentWorker(r)).toEqual({ pid: 29, start: 443999, ports: [18094, 18096] });
    expect([...listeningPorts(r)].sort()).toEqual([18094, 18095, 18096]);
    expect(r.others).toEqual([{ address: '0.0.0.0', port: 2024 }]);
  });

  it('copes with no haproxy at all', () => {
    expect(parseProbe('N\n')).toEqual({ masterPid: undefined, workers: [], others: [] });
  });

  it('decodes /proc/net/tcp addresses', () => {
    expect(decodeAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeAddress('00000000000000000000000000000000')).toBe('::');
    expect(decodeAddress('000080FE00000000FF005E02FE1D13AC')).toBe('fe80::25e:ff:ac13:1dfe');
  });

  it('finds ports another process holds where haproxy would bind', () => {
    const r = {
      workers: [],
      others: [
        { address: '127.0.0.1', port: 18085 },
        { address: '0.0.0.0', port: 18086 },
        { address: '10.0.0.1', port: 18087 },
        { address: '::1', port: 18088 },
      ],
    };
    expect(portsTaken(r, '127.0.0.1', [18085, 18086, 18087, 18088, 18089])).toEqual([
      '127.0.0.1:18085',
      '0.0.0.0:18086',
    ]);
    expect(portsTaken(r, '0.0.0.0', [18087])).toEqual(['10.0.0.1:18087']);
    expect(portsTaken(r, '0:0::1', [18088])).toEqual(['[::1]:18088']);
  });
});

describe('tar', () => {
  it('round-trips a file and keeps directories', () => {
    const tar = tarOf([{ name: 'd/' }, { name: 'd/f.cfg', content: 'héllo\n'.repeat(200) }]);
    expect(tar.length % 512).toBe(0);
    expect(firstFileOf(tar)).toEqual({ name: 'd/f.cfg', content: 'héllo\n'.repeat(200) });
    expect(firstFileOf(tarOf([]))).toBeUndefined();
  });
});
