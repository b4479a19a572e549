// Resource URLs: full URLs go out (selfLink, zone, region, targetLink...); full or partial URLs come in.

/** Where a resource lives: `zones/Z`, `regions/R` or `global`. */
export type Scope = string;

export interface ResourceRef {
  project: string;
  scope: Scope;
  collection: string;
  name: string;
  /** `projects/P/<scope>/<collection>/<name>`: the form used in error messages. */
  path: string;
}

export class Links {
  /** `base` ends with `/compute/v1/`, e.g. `https://www.googleapis.com/compute/v1/`. */
  constructor(
    readonly base: string,
    readonly project: string,
  ) {}

  /** Full URL of a project-relative path such as `zones/z/instances/i`. */
  url(path: string): string {
    return `${this.base}projects/${this.project}/${path}`;
  }

  /** Full URL of a `projects/...` path (for resources of other projects, e.g. public images). */
  abs(projectPath: string): string {
    return `${this.base}${projectPath}`;
  }

  /** `projects/P/<path>`, the form used in messages. */
  path(path: string): string {
    return `projects/${this.project}/${path}`;
  }
}

/**
 * Reduce a reference to `projects/P/...`: accepts full URLs of any host (`https://www.googleapis.com/
 * compute/v1/projects/...`, `https://compute.googleapis.com/compute/v1/...`, the emulator's own),
 * `projects/P/...`, and project-relative `zones/...`, `regions/...`, `global/...`.
 */
export function projectPath(ref: string, defaultProject: string): string | undefined {
  let s = ref.trim();
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/(.*)$/i.exec(s);
  if (m) s = m[1];
  s = s.replace(/^compute\/(?:v1|beta|alpha)\//, '').replace(/^\/+/, '');
  if (s.startsWith('projects/')) return s;
  if (/^(zones|regions)\/[^/]+\/|^global\//.test(s)) return `projects/${defaultProject}/${s}`;
  return undefined;
}

/** Parse a reference to a resource of `collection` (`instances`, `targetPools`, ...). */
export function parseRef(ref: unknown, collection: string, defaultProject: string): ResourceRef | undefined {
  if (typeof ref !== 'string' || ref === '') return undefined;
  const p = projectPath(ref, defaultProject);
  if (!p) return undefined;
  const m = /^projects\/([^/]+)\/((?:zones|regions)\/[^/]+|global)\/([^/]+)\/([^/]+)$/.exec(p);
  if (!m || m[3] !== collection) return undefined;
  return { project: m[1], scope: m[2], collection: m[3], name: m[4], path: p };
}

/** Last path segment of a URL or reference. */
export const lastSegment = (ref: string): string => ref.replace(/\/+$/, '').split('/').pop() ?? '';

/** The region of a zone: `us-central1-a` → `us-central1`. */
export const regionOfZone = (zone: string): string => zone.replace(/-[a-z]$/, '');
