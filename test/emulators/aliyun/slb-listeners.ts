// SLB listeners: created stopped; a started one forwards real traffic (see forwarder.ts).
import type { Context, Handler } from './context.js';
import type { Ecs } from './ecs.js';
import { ApiError, invalid, missing } from './errors.js';
import { TcpForwarder, UdpForwarder, type Backend, type HealthConfig } from './forwarder.js';
import type { Params } from './params.js';
import { lkey, type Listener, type LoadBalancer, type Protocol } from './slb-model.js';

export class SlbListeners {
  constructor(
    private ctx: Context,
    private ecs: Ecs,
    private lbs: Map<string, LoadBalancer>,
    private find: (p: Params) => LoadBalancer,
  ) {}

  handlers(): Record<string, Handler> {
    return {
      CreateLoadBalancerTCPListener: (p) => this.createListener(p, 'tcp'),
      CreateLoadBalancerUDPListener: (p) => this.createListener(p, 'udp'),
      SetLoadBalancerTCPListenerAttribute: (p) => this.setListener(p, 'tcp'),
      SetLoadBalancerUDPListenerAttribute: (p) => this.setListener(p, 'udp'),
      DescribeLoadBalancerTCPListenerAttribute: (p) => this.listenerAttribute(p, 'tcp'),
      DescribeLoadBalancerUDPListenerAttribute: (p) => this.listenerAttribute(p, 'udp'),
      StartLoadBalancerListener: (p) => this.startListener(p),
      StopLoadBalancerListener: (p) => this.stopListener(p),
      DeleteLoadBalancerListener: (p) => this.deleteListener(p),
      DescribeLoadBalancerListeners: (p) => this.describeListeners(p),
      DescribeHealthStatus: (p) => this.healthStatus(p),
    };
  }

  sorted(lb: LoadBalancer): Listener[] {
    return [...lb.listeners.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  }

  private listener(lb: LoadBalancer, p: Params, protocol?: Protocol): Listener {
    const port = p.reqInt('ListenerPort', 1, 65535);
    const proto = protocol ?? (p.str('ListenerProtocol')?.toLowerCase() as Protocol | undefined);
    if (proto !== undefined && proto !== 'tcp' && proto !== 'udp') {
      throw new ApiError('InvalidParameter', 'The specified resource does not exist.');
    }
    const hits = proto
      ? [lb.listeners.get(lkey(proto, port))].filter((l): l is Listener => !!l)
      : [...lb.listeners.values()].filter((l) => l.port === port);
    if (hits.length === 0) throw new ApiError('InvalidParameter', 'The specified resource does not exist.');
    if (hits.length > 1) throw missing('ListenerProtocol');
    return hits[0];
  }

  /**
   * The health-check parameters, spelt as each action's definition spells them: the interval is
   * `healthCheckInterval` on Create{TCP,UDP}Listener and `HealthCheckInterval` on
   * Set{TCP,UDP}ListenerAttribute; the UDP probe is `healthCheckReq`/`healthCheckExp` on both. The
   * other form is an unknown name, which the gateway ignores: so does the emulator.
   */
  private readHealth(p: Params, l: Listener, creating: boolean): void {
    l.healthCheck = p.oneOf('HealthCheckSwitch', ['on', 'off'] as const, l.healthCheck);
    l.hcType = p.oneOf('HealthCheckType', ['tcp', 'http'] as const, l.hcType);
    const hcPort = p.str('HealthCheckConnectPort');
    if (hcPort !== undefined) l.hcPort = p.int('HealthCheckConnectPort', 0, 1, 65535);
    const uri = p.str('HealthCheckURI');
    if (uri !== undefined) {
      if (!/^\/[\w\-/.%?#&=]*$/.test(uri) || uri.length > 80) throw invalid('HealthCheckURI');
      l.hcUri = uri;
    }
    l.hcDomain = p.str('HealthCheckDomain') ?? l.hcDomain;
    const codes = p.str('HealthCheckHttpCode');
    if (codes !== undefined) {
      if (!codes.split(',').every((c) => /^http_[2-5]xx$/.test(c))) throw invalid('HealthCheckHttpCode');
      l.hcHttpCode = codes;
    }
    if (l.protocol === 'udp') {
      for (const [field, name] of [
        ['hcReq', 'healthCheckReq'],
        ['hcExp', 'healthCheckExp'],
      ] as const) {
        const v = p.str(name);
        if (v === undefined) continue;
        if (!/^[A-Za-z0-9]{1,500}$/.test(v)) throw invalid(name, 'allows 1 to 500 letters and digits');
        l[field] = v;
      }
    }
    l.healthy = p.int('HealthyThreshold', l.healthy, 2, 10);
    l.unhealthy = p.int('UnhealthyThreshold', l.unhealthy, 2, 10);
    l.hcTimeout = p.int('HealthCheckConnectTimeout', l.hcTimeout, 1, 300);
    l.hcInterval = p.int(creating ? 'healthCheckInterval' : 'HealthCheckInterval', l.hcInterval, 1, 50);
    l.persistence = p.int('PersistenceTimeout', l.persistence, 0, 3600);
    l.established = p.int('EstablishedTimeout', l.established, 10, 900);
    l.scheduler = p.oneOf('Scheduler', ['wrr', 'wlc', 'rr', 'sch', 'tch'] as const, l.scheduler as 'wrr');
    const desc = p.str('Description');
    if (desc !== undefined) {
      if (desc.length > 256) throw invalid('Description', 'is longer than 256 characters');
      l.description = desc;
    }
    const bw = p.str('Bandwidth');
    if (bw !== undefined) {
      const n = p.int('Bandwidth', -1, -1, 5120);
      if (n === 0) throw invalid('Bandwidth', 'must be -1 or 1..5120');
      l.bandwidth = n;
    }
  }

  private createListener(p: Params, protocol: Protocol): Record<string, unknown> {
    const lb = this.find(p);
    const port = p.reqInt('ListenerPort', 1, 65535);
    const backendPort = p.reqInt('BackendServerPort', 1, 65535);
    p.req('Bandwidth');
    const l: Listener = {
      port,
      protocol,
      backendPort,
      bandwidth: -1,
      scheduler: 'wrr',
      status: 'stopped',
      healthCheck: 'on',
      hcType: 'tcp',
      hcUri: '/',
      hcDomain: '',
      hcHttpCode: 'http_2xx',
      healthy: 3,
      unhealthy: 3,
      hcTimeout: 5,
      hcInterval: 2,
      description: '',
      persistence: 0,
      established: 900,
    };
    this.readHealth(p, l, true);
    if (lb.listeners.has(lkey(protocol, port))) {
      throw new ApiError('ListenerAlreadyExists', 'The specified listener already exists.');
    }
    lb.listeners.set(lkey(protocol, port), l);
    return {};
  }

  private setListener(p: Params, protocol: Protocol): Record<string, unknown> {
    const lb = this.find(p);
    const l = this.listener(lb, p, protocol);
    // BackendServerPort is not a parameter of Set…ListenerAttribute: ignored, as the gateway does.
    this.readHealth(p, l, false);
    l.forwarder?.resetHealth();
    return {};
  }

  private listenerConfig(l: Listener): Record<string, unknown> {
    return {
      HealthCheck: l.healthCheck,
      HealthCheckType: l.hcType,
      HealthCheckConnectPort: l.hcPort ?? l.backendPort,
      HealthyThreshold: l.healthy,
      UnhealthyThreshold: l.unhealthy,
      HealthCheckConnectTimeout: l.hcTimeout,
      HealthCheckInterval: l.hcInterval,
      HealthCheckDomain: l.hcDomain,
      HealthCheckURI: l.hcUri,
      HealthCheckHttpCode: l.hcHttpCode,
      ...(l.protocol === 'udp' ? { HealthCheckReq: l.hcReq ?? '', HealthCheckExp: l.hcExp ?? '' } : {}),
      PersistenceTimeout: l.persistence,
      EstablishedTimeout: l.established,
    };
  }

  view(l: Listener): Record<string, unknown> {
    return {
      ListenerPort: l.port,
      BackendServerPort: l.backendPort,
      Status: l.status,
      Bandwidth: l.bandwidth,
      Scheduler: l.scheduler,
      Description: l.description,
      SynProxy: 'disable',
      AclStatus: 'off',
      ...this.listenerConfig(l),
    };
  }

  private listenerAttribute(p: Params, protocol: Protocol): Record<string, unknown> {
    const lb = this.find(p);
    return this.view(this.listener(lb, p, protocol));
  }

  private healthConfig(l: Listener): HealthConfig {
    const scale = this.ctx.healthCheckScale;
    return {
      enabled: l.healthCheck === 'on',
      type: l.hcType,
      port: l.hcPort,
      uri: l.hcUri,
      domain: l.hcDomain,
      httpCodes: l.hcHttpCode.split(','),
      udpRequest: l.hcReq,
      udpExpect: l.hcExp,
      healthy: l.healthy,
      unhealthy: l.unhealthy,
      timeoutMs: Math.max(50, l.hcTimeout * 1000 * scale),
      intervalMs: Math.max(10, l.hcInterval * 1000 * scale),
    };
  }

  /** A backend is reachable at its private IP while its instance is Running (a stopped one has no network). */
  private backendsOf(lb: LoadBalancer, l: Listener): () => Backend[] {
    const reachable = (id: string) => {
      const inst = this.ecs.instances.get(id);
      return inst?.status === 'Running' ? inst.privateIp : undefined;
    };
    return () =>
      lb.backends.map((b) => ({
        serverId: b.ServerId,
        ip: reachable(b.ServerId),
        port: l.backendPort,
        weight: b.Weight,
      }));
  }

  private busy(l: Listener): void {
    if (l.status === 'starting' || l.status === 'stopping') {
      throw new ApiError(
        'ServiceIsConfiguring',
        'The specified service is configuring, please try again later.',
      );
    }
  }

  private async startListener(p: Params): Promise<Record<string, unknown>> {
    const lb = this.find(p);
    const l = this.listener(lb, p);
    this.busy(l);
    if (l.status === 'running') return {};
    l.status = 'starting';
    const Fwd = l.protocol === 'tcp' ? TcpForwarder : UdpForwarder;
    const fwd = new Fwd(lb.address, l.port, this.backendsOf(lb, l), () => this.healthConfig(l));
    try {
      await fwd.start();
    } catch (err) {
      l.status = 'stopped';
      throw new ApiError(
        'InternalError',
        `The listener could not bind ${lb.address}:${l.port}: ${String(err)}`,
      );
    }
    if (!this.lbs.has(lb.id) || lb.listeners.get(lkey(l.protocol, l.port)) !== l || this.ctx.stopped) {
      await fwd.stop();
      return {};
    }
    l.forwarder = fwd;
    l.status = 'running';
    return {};
  }

  private async stopListener(p: Params): Promise<Record<string, unknown>> {
    const lb = this.find(p);
    const l = this.listener(lb, p);
    this.busy(l);
    if (l.status === 'stopped') return {};
    l.status = 'stopping';
    await l.forwarder?.stop();
    l.forwarder = undefined;
    l.status = 'stopped';
    return {};
  }

  private async deleteListener(p: Params): Promise<Record<string, unknown>> {
    const lb = this.find(p);
    const l = this.listener(lb, p);
    this.busy(l);
    lb.listeners.delete(lkey(l.protocol, l.port));
    await l.forwarder?.stop();
    return {};
  }

  private describeListeners(p: Params): Record<string, unknown> {
    const region = this.ctx.region(p);
    const ids = p.list('LoadBalancerId');
    const proto = p.str('ListenerProtocol')?.toLowerCase();
    const port = p.str('ListenerPort');
    const desc = p.str('Description');
    const rows = [...this.lbs.values()]
      .filter((lb) => lb.regionId === region && (ids.length === 0 || ids.includes(lb.id)))
      .flatMap((lb) =>
        this.sorted(lb)
          .filter(
            (l) =>
              (!proto || l.protocol === proto) &&
              (!port || String(l.port) === port) &&
              (!desc || l.description === desc),
          )
          .map((l) => {
            const v = this.view(l);
            const config = this.listenerConfig(l);
            return {
              LoadBalancerId: lb.id,
              ListenerProtocol: l.protocol,
              ListenerPort: l.port,
              BackendServerPort: l.backendPort,
              Status: l.status,
              Bandwidth: l.bandwidth,
              Scheduler: l.scheduler,
              Description: v.Description,
              AclStatus: 'off',
              [l.protocol === 'tcp' ? 'TCPListenerConfig' : 'UDPListenerConfig']: config,
            };
          }),
      );
    const max = p.int('MaxResults', 20, 1, 100);
    const token = p.str('NextToken');
    const start = token === undefined ? 0 : Number(token);
    if (!Number.isInteger(start) || start < 0) throw invalid('NextToken');
    return {
      Listeners: rows.slice(start, start + max),
      NextToken: start + max < rows.length ? String(start + max) : '',
      MaxResults: max,
      TotalCount: rows.length,
    };
  }

  private healthStatus(p: Params): Record<string, unknown> {
    const lb = this.find(p);
    const port = p.str('ListenerPort');
    const proto = p.str('ListenerProtocol')?.toLowerCase();
    const rows = this.sorted(lb)
      .filter((l) => (!port || String(l.port) === port) && (!proto || l.protocol === proto))
      .flatMap((l) =>
        lb.backends.map((b) => ({
          ListenerPort: l.port,
          Protocol: l.protocol,
          ServerId: b.ServerId,
          ServerIp: this.ecs.instances.get(b.ServerId)?.privateIp ?? '',
          Port: l.backendPort,
          ServerHealthStatus: l.forwarder?.status(b.ServerId) ?? 'unavailable',
        })),
      );
    return { BackendServers: { BackendServer: rows } };
  }
}
