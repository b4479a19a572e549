import { Socket, createServer } from 'node:net';
import { UserError } from '../../src/errors.js';
import { delay } from '../../src/util/async.js';

/** Ports this process handed out, so machines created in parallel never get the same one. */
const handedOut = new Set<number>();

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

/** A free TCP port on 127.0.0.1 for a NAT port forward (docker-machine's getAvailableTCPPort). */
export async function freeLocalPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await listenOn(0);
    if (p && !handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
  throw new Error('cannot find a free TCP port on 127.0.0.1');
}

/** True when nothing listens on 127.0.0.1:port. */
export async function portFree(port: number): Promise<boolean> {
  return (await listenOn(port)) === port;
}

/** One try: does something on 127.0.0.1:port greet us with an SSH banner within a second? */
function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2_000, () => done(false));
    s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    s.once('error', () => done(false));
    s.once('close', () => done(false));
    s.connect(port, '127.0.0.1');
  });
}

/** Wait (bounded backoff) until sshd answers through the NAT port forward on 127.0.0.1:port. */
export async function waitForSshBanner(port: number, deadlineMs: number, vm: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let wait = 250; !(await banner(port)); wait = Math.min(wait * 2, 2_000)) {
    if (Date.now() + wait > end) {
      throw new UserError(
        `the VM ${vm} did not answer on SSH (127.0.0.1:${port}) within ${Math.round(deadlineMs / 1000)} s; see its serial console log and VBox.log in the machine directory`,
      );
    }
    await delay(wait);
  }
}
