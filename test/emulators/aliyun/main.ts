// Standalone Aliyun emulator: `npm run emulator:aliyun -- [flags]`. Prints the endpoint and the access key
// id (the secret only with --print-secret) and runs until SIGINT/SIGTERM, then removes its VMs.
import { parseArgs } from 'node:util';
import { labUp } from '../../lab/lab.js';
import { startAliyunEmulator, type AliyunEmulatorOptions } from './index.js';

const USAGE = `usage: npm run emulator:aliyun -- [options]
  --port N                 listen port (default 8789; 0 = any free port)
  --host ADDR              listen address (default 127.0.0.1)
  --region ID              region (default cn-hangzhou)
  --zone ID                default zone (default <region>-h)
  --latency MS             status transition time (default 300)
  --backing vm|node|none   lab VM image behind each instance, or none (default vm; runs lab up, needs root)
  --address-prefix P       SLB loopback address prefix (default 127.88.0.)
  --health-check-scale X   multiply SLB health-check intervals (default 1)
  --quota-vcpus N          vCPU quota of pay-as-you-go instances
  --quota-load-balancers N load balancer quota
  --print-secret           also print the access key secret
  --ram-role NAME          a RAM role instances may be given (RamRoleName); repeatable
  --metadata-host ADDR     also serve the instance metadata service there (STS credentials of RAM roles)
Access keys: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET when both are set,
otherwise a random pair.`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`emulator:aliyun: --${name} needs a non-negative number, got "${v}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        region: { type: 'string' },
        zone: { type: 'string' },
        latency: { type: 'string' },
        backing: { type: 'string' },
        'address-prefix': { type: 'string' },
        'health-check-scale': { type: 'string' },
        'quota-vcpus': { type: 'string' },
        'quota-load-balancers': { type: 'string' },
        'print-secret': { type: 'boolean' },
        'ram-role': { type: 'string', multiple: true },
        'metadata-host': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`emulator:aliyun: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backing = values.backing ?? 'vm';
  if (backing !== 'vm' && backing !== 'node' && backing !== 'none') {
    process.stderr.write(`emulator:aliyun: --backing must be vm, node or none, got "${backing}"\n`);
    process.exit(2);
  }
  if (backing !== 'none') await labUp();
  const envId = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const envSecret = process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  const opts: AliyunEmulatorOptions = {
    port: num('port', values.port) ?? 8789,
    host: values.host,
    regionId: values.region,
    zoneId: values.zone,
    latencyMs: num('latency', values.latency),
    backing: backing === 'none' ? false : { image: backing },
    addressPrefix: values['address-prefix'],
    healthCheckScale: num('health-check-scale', values['health-check-scale']),
    quotas: {
      vcpus: num('quota-vcpus', values['quota-vcpus']),
      loadBalancers: num('quota-load-balancers', values['quota-load-balancers']),
    },
    accessKeys: envId && envSecret ? { [envId]: envSecret } : undefined,
    ramRoles: values['ram-role'],
    metadata: values['metadata-host'] ? { host: values['metadata-host'] } : undefined,
  };
  const emu = await startAliyunEmulator(opts);
  const out = [
    `aliyun emulator: endpoint ${emu.endpoint} (region ${emu.regionId}, backing ${backing})`,
    `export ALIBABA_CLOUD_ACCESS_KEY_ID=${emu.accessKeyId}`,
    ...(emu.metadataEndpoint ? [`export SWARMUP_ALIYUN_METADATA_ENDPOINT=${emu.metadataEndpoint}`] : []),
  ];
  if (values['print-secret']) out.push(`export ALIBABA_CLOUD_ACCESS_KEY_SECRET=${emu.accessKeySecret}`);
  else if (!(envId && envSecret))
    out.push('# secret not shown: run with --print-secret, or set both ALIBABA_CLOUD_ACCESS_KEY_* variables');
  process.stdout.write(`${out.join('\n')}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`aliyun emulator: ${signal}, stopping (removing VMs)\n`);
    emu.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`aliyun emulator: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator:aliyun: ${(err as Error).message}\n`);
  process.exit(1);
});
