import { Gce } from './api.js';

/** One connection (SDK clients, credentials) per project and endpoint for the whole process. */
const cache = new Map<string, Promise<Gce>>();

export function connectGce(o: { project: string; endpoint?: string }): Promise<Gce> {
  const key = `${o.endpoint ?? ''}|${o.project}`;
  let p = cache.get(key);
  if (!p) {
    p = Gce.connect(o);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}
