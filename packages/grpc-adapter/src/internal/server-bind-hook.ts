/**
 * Zero-code inbound side for grpc-js: a plain `new grpc.Server()` that the application binds on
 * a served port (`WEFT_PORT`) is served through the same machinery as `createWeftServer` —
 * Weft owns the listening socket and hands each connection to one of the server's public
 * connection injectors (`Server.createConnectionInjector`): TLS per PeerAuthentication with
 * ClientHello sniffing (`server-security.ts`), and Weft's interceptors (telemetry, RBAC, inbound
 * filters) attached to those injectors' credentials with grpc-js's public
 * `experimental.createServerCredentialsWithInterceptors`, so they run before the interceptors
 * the application gave its `Server` constructor. Nothing private of grpc-js is read or written.
 *
 * The one thing that has no hook is *which* port a server binds: so this module wraps three
 * methods of the application's `grpc.Server.prototype` (the grpc-js copy `@grpc/grpc-js`
 * resolves to from this package, a peer dependency: the application's own):
 * - `bindAsync`: an address on a served port with insecure credentials is bound by Weft (its
 *   errors, e.g. EADDRINUSE, reach the application's callback); with the application's own TLS
 *   credentials grpc-js binds it and only the interceptors are added; every other port and
 *   every malformed call goes to grpc-js untouched.
 * - `tryShutdown` / `forceShutdown`: also close the sockets Weft bound for that server.
 * A server bound this way also answers the standard `grpc.health.v1` service (unless the
 * application registered its own): NOT_SERVING until its served port is bound, SERVING after,
 * NOT_SERVING from shutdown on.
 * Installing twice (both copies of the hook, or a second call) adds ports; it never wraps twice.
 */
import * as grpc from '@grpc/grpc-js';
import { listenWithMeshSecurity, type MeshSecuredPort, type MeshServerSecurityOptions } from './server-security.ts';
import { HealthStatusTable } from './health-service.ts';

type ServerClass = typeof grpc.Server;
type BindAsync = grpc.Server['bindAsync'];

interface HookState {
  /** Served port → how to serve it. */
  readonly ports: Map<number, MeshServerSecurityOptions>;
}

const HOOK = Symbol.for('weft.grpcServerBindHook');
type HookedPrototype = grpc.Server & { [HOOK]?: HookState };

/** What {@link hookServerBinds} installed. */
export interface ServerBindHook {
  /** Stops serving `port` through Weft for binds from now on (bound ports stay as they are). */
  removePort(port: number): void;
}

/** `host` and `port` of a bind address (`host:port`, `[v6]:port`, `dns:host:port`), or undefined. */
export function parseBindAddress(address: string): { host: string; port: number } | undefined {
  const bare = address.replace(/^dns:(\/\/[^/]*\/)?/, '').replace(/^ipv[46]:/, '');
  const i = bare.lastIndexOf(':');
  if (i < 0) return undefined;
  const port = Number(bare.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: bare.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

/**
 * Serves binds of `ports` on `serverClass` (default: grpc-js's `Server`) through Weft; see the
 * module comment. Synchronous; binds nothing itself.
 */
export function hookServerBinds(ports: ReadonlyMap<number, MeshServerSecurityOptions>, serverClass: ServerClass = grpc.Server): ServerBindHook {
  const proto = serverClass.prototype as HookedPrototype;
  let state = proto[HOOK];
  if (state === undefined) {
    state = { ports: new Map() };
    install(proto, state);
  }
  for (const [port, security] of ports) state.ports.set(port, security);
  const installed = state;
  return { removePort: (port) => void installed.ports.delete(port) };
}

function install(proto: HookedPrototype, state: HookState): void {
  const originalBind = proto.bindAsync;
  const originalTry = proto.tryShutdown;
  const originalForce = proto.forceShutdown;
  const bound = new WeakMap<grpc.Server, MeshSecuredPort[]>();
  const healthOf = new WeakMap<grpc.Server, HealthStatusTable | null>();
  // grpc.health.v1 on a meshed server: NOT_SERVING until a served port is bound, SERVING after,
  // NOT_SERVING from shutdown on. Skipped (null) when the application registered its own.
  const health = (server: grpc.Server): HealthStatusTable | null => {
    let table = healthOf.get(server);
    if (table === undefined) {
      table = new HealthStatusTable();
      table.set('', 'NOT_SERVING');
      try {
        table.addTo(server);
      } catch {
        table = null;
      }
      healthOf.set(server, table);
    }
    return table;
  };
  const served = (server: grpc.Server, callback: (error: Error | null, port: number) => void) => (error: Error | null, port: number): void => {
    if (error === null) health(server)?.setAll('SERVING');
    callback(error, port);
  };
  const closePorts = (server: grpc.Server): void => {
    const table = healthOf.get(server);
    table?.setAll('NOT_SERVING');
    table?.endWatches();
    for (const p of bound.get(server) ?? []) p.close();
    bound.delete(server);
  };
  Object.defineProperty(proto, HOOK, { value: state, enumerable: false });
  proto.bindAsync = function bindAsync(this: grpc.Server, port: string, creds: grpc.ServerCredentials, callback: (error: Error | null, port: number) => void): void {
    const address = typeof port === 'string' ? parseBindAddress(port) : undefined;
    const security = address === undefined ? undefined : state.ports.get(address.port);
    if (address === undefined || security === undefined || typeof callback !== 'function' || !(creds instanceof grpc.ServerCredentials)) {
      return originalBind.call(this, port, creds, callback);
    }
    health(this);
    if (creds._isSecure()) {
      // The application terminates TLS itself: keep its credentials, add the mesh's interceptors.
      const interceptors = security.interceptors ?? [];
      return originalBind.call(this, port, interceptors.length === 0 ? creds : grpc.experimental.createServerCredentialsWithInterceptors(creds, [...interceptors]), served(this, callback));
    }
    const done = served(this, callback);
    listenWithMeshSecurity(this, `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`, security).then(
      (secured) => {
        let list = bound.get(this);
        if (list === undefined) bound.set(this, (list = []));
        list.push(secured);
        done(null, secured.port);
      },
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err)), 0),
    );
  } as BindAsync;
  proto.tryShutdown = function tryShutdown(this: grpc.Server, callback: (error?: Error) => void): void {
    closePorts(this);
    return originalTry.call(this, callback);
  };
  proto.forceShutdown = function forceShutdown(this: grpc.Server): void {
    closePorts(this);
    return originalForce.call(this);
  };
}
