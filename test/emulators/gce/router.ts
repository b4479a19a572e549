// A small router for `/compute/v1/...` paths with `:param` segments.

export interface Call {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export type Handler = (call: Call) => unknown;

export interface RouteOptions {
  /** The path's project may differ from the emulator's (public images). */
  anyProject?: boolean;
}

interface Route {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
  opts: RouteOptions;
}

export const API_PREFIX = '/compute/v1';

export class Router {
  private routes: Route[] = [];

  private add(method: string, pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    const keys: string[] = [];
    const re = new RegExp(
      `^${API_PREFIX}${pattern.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
        keys.push(k);
        return '([^/]+)';
      })}$`,
    );
    const [opts, handler] = typeof a === 'function' ? [{}, a] : [a, b!];
    this.routes.push({ method, re, keys, handler, opts });
  }

  get(pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    this.add('GET', pattern, a, b);
  }
  post(pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    this.add('POST', pattern, a, b);
  }
  delete(pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    this.add('DELETE', pattern, a, b);
  }
  patch(pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    this.add('PATCH', pattern, a, b);
  }
  put(pattern: string, a: RouteOptions | Handler, b?: Handler): void {
    this.add('PUT', pattern, a, b);
  }

  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string>; opts: RouteOptions } | undefined {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const m = r.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      return { handler: r.handler, params, opts: r.opts };
    }
    return undefined;
  }
}
