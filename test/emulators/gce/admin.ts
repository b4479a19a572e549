// The emulator's own admin surface under /_emulator/ (not part of the Compute API): its state, its
// request log and its faults, for a standalone emulator (`npm run emulator:gce`) that tests and demos
// reach over HTTP. See docs/emulators/gce.md.
import { FaultError, checkFault, type Faults } from './faults.js';

export const ADMIN_PREFIX = '/_emulator/';

export interface AdminDeps {
  /** `dump()` plus `resourceCount`. */
  state: () => unknown;
  requests: () => unknown[];
  resetLog: () => void;
  faults: Faults;
  /** A new service-account key file (`auth: 'required'`). */
  createKey: (email?: string) => unknown;
}

type Answer = readonly [number, unknown];

const error = (code: number, message: string): Answer => [code, { error: { code, message } }];

/**
 * GET state · GET requests · DELETE requests · GET faults · POST faults (one fault or a list) ·
 * DELETE faults · POST serviceAccountKeys (body `{"email": ...}` or none: a key file). Anything else: 404 (unknown path) or 405 (known path, other method).
 */
export function serveAdmin(method: string, path: string, raw: string, d: AdminDeps): Answer {
  const what = path.slice(ADMIN_PREFIX.length).replace(/\/+$/, '');
  const routes: Record<string, Record<string, () => Answer>> = {
    state: { GET: () => [200, d.state()] },
    requests: {
      GET: () => [200, { requests: d.requests() }],
      DELETE: () => {
        d.resetLog();
        return [200, { requests: [] }];
      },
    },
    faults: {
      GET: () => [200, d.faults.snapshot()],
      POST: () => {
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch (err) {
          return error(400, `the body must be JSON: ${(err as Error).message}`);
        }
        try {
          const list = (Array.isArray(body) ? body : [body]).map(checkFault);
          for (const f of list) d.faults.inject(f);
        } catch (err) {
          if (err instanceof FaultError) return error(400, `invalid fault: ${err.message}`);
          throw err;
        }
        return [200, d.faults.snapshot()];
      },
      DELETE: () => {
        d.faults.clear();
        return [200, d.faults.snapshot()];
      },
    },
  };
  routes.serviceAccountKeys = {
    POST: () => {
      let email: string | undefined;
      try {
        email = raw.trim() ? (JSON.parse(raw) as { email?: string }).email : undefined;
      } catch (err) {
        return error(400, `the body must be JSON: ${(err as Error).message}`);
      }
      return [200, d.createKey(email)];
    },
  };
  const route = routes[what];
  if (!route) return error(404, `no admin resource ${path} (state, requests, faults, serviceAccountKeys)`);
  const handler = route[method];
  if (!handler) return error(405, `${method} ${path} is not supported (${Object.keys(route).join(', ')})`);
  return handler();
}
