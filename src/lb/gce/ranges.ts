/** Port ranges: collapsing port lists, GCE's `portRange` strings, and a stable forwarding-rule layout. */

export type Range = readonly [lo: number, hi: number];

/** Sorted, de-duplicated ports → maximal contiguous ranges: [80, 81, 82, 443] → [[80, 82], [443, 443]]. */
export function collapsePorts(ports: Iterable<number>): Range[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else out.push([p, p]);
  }
  return out;
}

/** `80` or `8000-8010`: a firewall `ports` entry. */
export const firewallPort = ([lo, hi]: Range) => (lo === hi ? String(lo) : `${lo}-${hi}`);

/** GCE's normalized `portRange` of a forwarding rule: always `lo-hi`. */
export const portRange = ([lo, hi]: Range) => `${lo}-${hi}`;

/** `80`, `80-80` or `8000-8010` → a range; undefined when it is not one. */
export function parseRange(s: string | null | undefined): Range | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec((s ?? '').trim());
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : undefined;
}

export const rangeText = ([lo, hi]: Range) => (lo === hi ? String(lo) : `${lo}-${hi}`);

/** Split a list into chunks of at most `n` (a firewall rule holds at most 100 ports or ranges). */
export function chunk<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

export interface RangeLayout<R> {
  /** Existing rules that stay as they are. */
  keep: R[];
  /** Existing rules to delete: they cover a port no longer published, or overlap a kept one. */
  remove: R[];
  /** New ranges covering the published ports no kept rule covers. */
  add: Range[];
}

/**
 * Which rules to keep, delete and add so that the rules of one protocol cover exactly `wanted`,
 * changing as little as possible: an existing rule stays while every port of its range is still
 * wanted (so publishing a new port never touches the rules serving the others); a rule that covers an
 * unpublished port goes and its still-wanted ports get new ranges; ports no rule covers are merged into
 * maximal contiguous ranges that do not cross a kept rule. From nothing this gives the fewest rules.
 */
export function layoutRanges<R>(
  wanted: Iterable<number>,
  current: readonly R[],
  rangeOf: (r: R) => Range,
  usable: (r: R) => boolean = () => true,
): RangeLayout<R> {
  const want = new Set(wanted);
  const keep: R[] = [];
  const remove: R[] = [];
  const covered = new Set<number>();
  const byStart = [...current].sort((a, b) => rangeOf(a)[0] - rangeOf(b)[0] || rangeOf(a)[1] - rangeOf(b)[1]);
  for (const r of byStart) {
    const [lo, hi] = rangeOf(r);
    let ok = usable(r);
    for (let p = lo; ok && p <= hi; p++) if (!want.has(p) || covered.has(p)) ok = false;
    if (!ok) {
      remove.push(r);
      continue;
    }
    keep.push(r);
    for (let p = lo; p <= hi; p++) covered.add(p);
  }
  const rest = [...want].filter((p) => !covered.has(p));
  return { keep, remove, add: collapsePorts(rest) };
}
