import { hostname } from 'node:os';

/**
 * Who holds a lock or a claim: `<pid> <host> [what]`, one line. Locks, machine claims and cluster
 * locks all use this one format and the same staleness rule.
 */
export interface Owner {
  pid: number;
  host: string;
  what: string;
}

export function ownerLine(what = ''): string {
  return `${process.pid} ${hostname()}${what ? ` ${what}` : ''}\n`;
}

export function parseOwner(text: string): Owner | undefined {
  const m = /^(\d+) (\S+)(?: (.*))?$/.exec(text.trim());
  return m ? { pid: Number(m[1]), host: m[2], what: m[3] ?? '' } : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner is a process on this host that has exited: its lock or claim may be taken over. */
export function ownerGone(o: Owner | undefined): boolean {
  return !!o && o.host === hostname() && !pidAlive(o.pid);
}

/** The owner is this very process. */
export const ownedByMe = (o: Owner | undefined): boolean =>
  !!o && o.host === hostname() && o.pid === process.pid;

/** "pid N on HOST" (and what it runs, when known), for messages. */
export function describeOwner(o: Owner): string {
  return `pid ${o.pid} on ${o.host}${o.what ? ` (${o.what})` : ''}`;
}
