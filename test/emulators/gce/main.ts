// Standalone GCE emulator: `npm run emulator:gce -- [options]`. Prints the endpoint on stdout and runs
// until SIGINT/SIGTERM, then removes everything it created (backing VMs included).
import { parseArgs } from 'node:util';
import { labUp } from '../../lab/lab.js';
import { lab } from '../../lab/lab.js';
import { startGceEmulator, type GceEmulatorOptions } from './index.js';

const USAGE = `usage: npm run emulator:gce -- [options]

A GCE Compute v1 emulator on 127.0.0.1 (see docs/emulators/gce.md).
Point swarmup at it with --google-endpoint <printed endpoint>.
State, request log and faults: GET <endpoint>/_emulator/state, GET|DELETE .../requests,
GET|POST|DELETE .../faults.

options:
  --port N                 listen port (default: a free port)
  --project ID             project (default swarmup-emu)
  --region R               region (default us-central1)
  --zones Z1,Z2            zones (default R-a,R-b,R-c)
  --latency MS             operation latency, PENDING -> DONE (default 300)
  --create-latency MS      extra time before a new instance is RUNNING (default 0)
  --wait-timeout MS        longest operations.wait answer time (default 1000)
  --backing vm|node|none   lab VM image behind each instance, or none (default vm; needs root and the lab)
  --address-prefix P       loopback prefix for load-balancer addresses (default 127.77.0.)
  --health-check-scale F   multiply health-check intervals/timeouts (default 1)
  --quota-instances N      instances per region (default 24)
  --quota-forwarding-rules N   forwarding rules per project (default 15)
  --quota-addresses N      static addresses per region (default 8)
  --host ADDR              listen address, also in the endpoint (default 127.0.0.1; lab VMs: 172.29.0.1)
  --auth none|required     check OAuth tokens like Google (default none); keys: POST .../serviceAccountKeys
  --metadata-host ADDR     also serve the metadata server there (its host:port is printed on stderr)
  -h, --help               this help
`;

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`emulator:gce: ${flag} must be a non-negative number, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        project: { type: 'string' },
        region: { type: 'string' },
        zones: { type: 'string' },
        latency: { type: 'string' },
        'create-latency': { type: 'string' },
        'wait-timeout': { type: 'string' },
        backing: { type: 'string' },
        'address-prefix': { type: 'string' },
        'health-check-scale': { type: 'string' },
        'quota-instances': { type: 'string' },
        'quota-forwarding-rules': { type: 'string' },
        'quota-addresses': { type: 'string' },
        host: { type: 'string' },
        auth: { type: 'string' },
        'metadata-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`emulator:gce: ${(err as Error).message} (see --help)\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const s = (k: string) => values[k] as string | undefined;
  const backingFlag = s('backing') ?? 'vm';
  if (!['vm', 'node', 'none'].includes(backingFlag)) {
    process.stderr.write(`emulator:gce: --backing must be vm, node or none, got '${backingFlag}'\n`);
    process.exit(2);
  }
  const authFlag = s('auth') ?? 'none';
  if (authFlag !== 'none' && authFlag !== 'required') {
    process.stderr.write(`emulator:gce: --auth must be none or required, got '${authFlag}'\n`);
    process.exit(2);
  }
  const opts: GceEmulatorOptions = {
    host: s('host'),
    auth: authFlag,
    metadata: s('metadata-host') ? { host: s('metadata-host')! } : undefined,
    port: num(s('port'), '--port'),
    project: s('project'),
    region: s('region'),
    zones: s('zones')?.split(',').filter(Boolean),
    operationLatencyMs: num(s('latency'), '--latency'),
    createLatencyMs: num(s('create-latency'), '--create-latency'),
    waitTimeoutMs: num(s('wait-timeout'), '--wait-timeout'),
    backing: backingFlag === 'none' ? false : { image: backingFlag as 'vm' | 'node' },
    addressPrefix: s('address-prefix'),
    healthCheckScale: num(s('health-check-scale'), '--health-check-scale'),
    quotas: {
      instances: num(s('quota-instances'), '--quota-instances'),
      forwardingRules: num(s('quota-forwarding-rules'), '--quota-forwarding-rules'),
      addresses: num(s('quota-addresses'), '--quota-addresses'),
    },
  };
  if (opts.backing) {
    try {
      await labUp();
    } catch {
      // from dist/, lab.ts does not find its script beside it: use the source tree's
      await lab(['up']);
    }
  }
  const emu = await startGceEmulator(opts);
  process.stdout.write(`${emu.endpoint}\n`);
  process.stderr.write(
    `GCE emulator: project ${emu.project}, region ${emu.region}, backing ${backingFlag}, auth ${authFlag}${emu.metadataHost ? `, metadata server ${emu.metadataHost} (GCE_METADATA_HOST)` : ''}; admin ${emu.endpoint}/_emulator/{state,requests,faults,serviceAccountKeys}; Ctrl-C to stop\n`,
  );
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(
      `GCE emulator: ${sig}, removing ${emu.resourceCount()} resource(s) and the backing VMs\n`,
    );
    emu.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`GCE emulator: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator:gce: ${(err as Error).message}\n`);
  process.exit(1);
});
