/**
 * The expiry a discovered cluster has, from the `swarmup.expires` label (or tag) of each of its
 * resources. Labels are fixed when a resource is made, so a re-run that moved the expiry shows only on
 * resources made since: the latest one wins, and a cluster is never pruned while a newer TTL holds.
 */
export function laterExpiry(current: string | undefined, next: string | undefined): string | undefined {
  if (!next || Number.isNaN(Date.parse(next))) return current;
  if (!current || Date.parse(next) > Date.parse(current)) return next;
  return current;
}
