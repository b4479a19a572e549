/**
 * How long certificate generation takes: ECDSA P-256 (what swarmup uses) against native RSA-2048 key
 * generation (what docker-machine uses). Prints timings only; never asserts them.
 *
 *   npm run build && node dist/bench/certs.js [ecdsaRuns] [rsaRuns]
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { createCA, createServerCert } from '../src/tls/certs.js';

const generateKeyPairAsync = promisify(generateKeyPair);

async function timePerOp(runs: number, op: () => Promise<unknown>): Promise<number> {
  await op(); // warm-up: module loading, JIT
  const start = performance.now();
  for (let i = 0; i < runs; i++) await op();
  return (performance.now() - start) / runs;
}

async function main(): Promise<void> {
  const ecdsaRuns = Number(process.argv[2] ?? 20);
  const rsaRuns = Number(process.argv[3] ?? 5);

  const ca = await createCA();
  const caMs = await timePerOp(ecdsaRuns, () => createCA());
  const serverMs = await timePerOp(ecdsaRuns, () =>
    createServerCert(ca, { commonName: 'bench', sans: ['10.0.0.5', 'node1.example.com'] }),
  );
  const ecdsaMs = caMs + serverMs;
  const rsaMs = await timePerOp(rsaRuns, () => generateKeyPairAsync('rsa', { modulusLength: 2048 }));

  const rows: [string, string][] = [
    [`ECDSA P-256 CA cert (key + sign), n=${ecdsaRuns}`, `${caMs.toFixed(2)} ms/op`],
    [`ECDSA P-256 server cert (key + sign), n=${ecdsaRuns}`, `${serverMs.toFixed(2)} ms/op`],
    ['ECDSA P-256 CA + server cert', `${ecdsaMs.toFixed(2)} ms/op`],
    [`RSA-2048 native key generation alone, n=${rsaRuns}`, `${rsaMs.toFixed(2)} ms/op`],
    ['ratio RSA-2048 key / ECDSA CA + server cert', `${(rsaMs / ecdsaMs).toFixed(1)}x`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`node ${process.version}`);
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
}

await main();
