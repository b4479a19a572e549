// List and aggregatedList responses: filter, orderBy, maxResults/pageToken, scoped `items` maps.
import { createHash } from 'node:crypto';
import { invalidField } from './errors.js';
import { compileFilter } from './filter.js';

const MAX_RESULTS = 500;

interface Paged<T> {
  page: T[];
  nextPageToken?: string;
}

function paginate<T>(all: T[], q: URLSearchParams): Paged<T> {
  const maxRaw = q.get('maxResults');
  let max = MAX_RESULTS;
  if (maxRaw !== null && maxRaw !== '') {
    max = Number(maxRaw);
    if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS)
      throw invalidField('maxResults', maxRaw, `Must be an integer between 0 and ${MAX_RESULTS}.`);
    if (max === 0) max = MAX_RESULTS;
  }
  const salt = createHash('sha256')
    .update(`${q.get('filter') ?? ''}|${q.get('orderBy') ?? ''}`)
    .digest('hex')
    .slice(0, 8);
  let offset = 0;
  const token = q.get('pageToken');
  if (token) {
    const m = /^(\d+):([0-9a-f]{8})$/.exec(Buffer.from(token, 'base64url').toString());
    if (!m || m[2] !== salt) throw invalidField('pageToken', token, 'Invalid page token.');
    offset = Number(m[1]);
  }
  const page = all.slice(offset, offset + max);
  const next =
    offset + max < all.length ? Buffer.from(`${offset + max}:${salt}`).toString('base64url') : undefined;
  return next ? { page, nextPageToken: next } : { page };
}

function order<T>(items: T[], orderBy: string | null): T[] {
  const get = (x: T, k: string) => String((x as Record<string, unknown>)[k] ?? '');
  const spec = (orderBy ?? '').trim();
  if (spec === '' || spec === 'name')
    return [...items].sort((a, b) => get(a, 'name').localeCompare(get(b, 'name')));
  if (spec === 'creationTimestamp desc')
    return [...items].sort((a, b) => get(b, 'creationTimestamp').localeCompare(get(a, 'creationTimestamp')));
  if (spec === 'creationTimestamp')
    return [...items].sort((a, b) => get(a, 'creationTimestamp').localeCompare(get(b, 'creationTimestamp')));
  throw invalidField('orderBy', spec, 'Supported: name, creationTimestamp, creationTimestamp desc.');
}

/** `{kind, id, items?, selfLink, nextPageToken?}`; `items` is left out when empty, as the API does. */
export function listResponse<T>(all: T[], q: URLSearchParams, kind: string, id: string, selfLink: string) {
  const pred = compileFilter(q.get('filter') ?? undefined);
  const { page, nextPageToken } = paginate(order(all.filter(pred), q.get('orderBy')), q);
  return {
    kind,
    id,
    ...(page.length ? { items: page } : {}),
    selfLink,
    ...(nextPageToken ? { nextPageToken } : {}),
  };
}

/**
 * aggregatedList: `items` maps every scope (`zones/Z` or `regions/R`) to `{<field>: [...]}`, or to
 * `{warning: {code: 'NO_RESULTS_ON_PAGE', ...}}` when the scope has nothing on this page.
 */
export function aggregatedResponse<T>(
  scopes: string[],
  byScope: (scope: string) => T[],
  field: string,
  q: URLSearchParams,
  kind: string,
  id: string,
  selfLink: string,
) {
  const pred = compileFilter(q.get('filter') ?? undefined);
  const flat: Array<{ scope: string; item: T }> = [];
  for (const scope of scopes)
    for (const item of order(byScope(scope).filter(pred), q.get('orderBy'))) flat.push({ scope, item });
  const { page, nextPageToken } = paginate(flat, q);
  const items: Record<string, unknown> = {};
  for (const scope of scopes) {
    const mine = page.filter((e) => e.scope === scope).map((e) => e.item);
    items[scope] = mine.length
      ? { [field]: mine }
      : {
          warning: {
            code: 'NO_RESULTS_ON_PAGE',
            message: `There are no results for scope '${scope}' on this page.`,
            data: [{ key: 'scope', value: scope }],
          },
        };
  }
  return { kind, id, items, selfLink, ...(nextPageToken ? { nextPageToken } : {}) };
}
