import { EventEmitter } from "events";
import type { IncomingMessage, ServerResponse } from "http";

/** The largest body a route accepts, in bytes. */
export const MAX_BODY = 1_048_576;
const DEFAULT_METHODS = ["GET", "HEAD"];

export type Handler = (request: Request, response: ServerResponse) => Promise<void> | void;

export enum Method {
  Get = "GET",
  Post = "POST",
  Delete = "DELETE",
}

/**
 * What a handler receives.
 *
 * The path parameters are decoded; the query is parsed once.
 * The body is read lazily: `text()` and `json()` read it.
 * A body over MAX_BODY rejects with a 413.
 * Headers are lower-cased.
 * The raw message stays reachable for streaming.
 */
export interface Request {
  method: Method;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  raw: IncomingMessage;
  text(): Promise<string>;
  json<T>(): Promise<T>;
}

interface Route {
  method: Method;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key);
    return "([^/]+)";
  });
  return { pattern: new RegExp(`^${source}$`), keys };
}

/** Routes requests to handlers by method and path. */
export class Router extends EventEmitter {
  private routes: Route[] = [];

  constructor(private readonly prefix: string = "") {
    super();
  }

  /** Register `handler` for `method` requests to `path`. */
  on(method: Method, path: string, handler: Handler): this {
    const { pattern, keys } = compile(this.prefix + path);
    this.routes.push({ method, pattern, keys, handler });
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.on(Method.Get, path, handler);
  }

  post(path: string, handler: Handler): this {
    return this.on(Method.Post, path, handler);
  }

  match(method: Method, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, index) => {
        params[key] = decodeURIComponent(found[index + 1]);
      });
      return { route, params };
    }
    return undefined;
  }

  async handle(request: Request, response: ServerResponse): Promise<boolean> {
    const matched = this.match(request.method, request.path);
    if (!matched) {
      this.emit("miss", request);
      return false;
    }
    request.params = matched.params;
    await matched.route.handler(request, response);
    return true;
  }
}

export const notFound: Handler = (_request, response) => {
  response.statusCode = 404;
  response.end("not found");
};

export function allowed(method: string): boolean {
  return DEFAULT_METHODS.includes(method) || Object.values(Method).includes(method as Method);
}

export default new Router();
