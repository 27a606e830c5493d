/**
 * undici's dispatcher, loaded alone. `import 'undici'` loads all of undici (fetch, WebSocket,
 * caches, mocks): about 90 ms of a run's start-up here, where the agent a run uses takes about
 * 30 ms. undici publishes no exports map, so its modules are the package's to load; if a
 * later undici moves this one, the whole package is loaded instead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import type { Agent as AgentClass, buildConnector as buildConnectorFunction, Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentClass } from 'undici';
import { createSpareConnections, type SpareConnections } from './spare-connections.js';

const require = createRequire(import.meta.url);

function load<T>(path: string, name: 'Agent' | 'buildConnector'): T {
  try {
    return require(`undici/lib/${path}`) as T;
  } catch {
    return (require('undici') as Record<string, T>)[name]!;
  }
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

export interface DispatcherOptions {
  /** Keep-alive connections per origin, at most (HTTP/1.1); HTTP/2 multiplexes as many streams on one. */
  connections: number;
  /** Offer HTTP/2 by ALPN to https origins. */
  http2?: boolean;
  /** PEM certificates trusted on top of the system's (and NODE_EXTRA_CA_CERTS's). */
  caCertificates?: string;
}

export interface RunDispatcher {
  dispatcher: Dispatcher;
  /** Connections to open ahead of the rate; none through a proxy. */
  spares: SpareConnections | undefined;
}

/**
 * Keep-alive pools of `connections` per origin. Through a proxy when HTTP_PROXY or HTTPS_PROXY
 * is set (NO_PROXY exempts hosts); otherwise a plain agent, since the proxy agent reads the
 * environment again for every request.
 */
export function createDispatcher(options: DispatcherOptions, env: NodeJS.ProcessEnv = process.env): RunDispatcher {
  const { connections } = options;
  const tls = trustFor(options.caCertificates, env);
  const allowH2 = options.http2 === true;
  const h2 = allowH2 ? { allowH2, maxConcurrentStreams: connections } : {};
  if (PROXY_VARIABLES.some((name) => env[name])) {
    // The whole package here: the proxy agent opens its https tunnels with Dispatcher#connect,
    // which only undici's index puts on the prototype (loaded alone, every https request
    // through a proxy failed with "connect is not a function").
    const { EnvHttpProxyAgent } = require('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgentClass };
    const dispatcher = new EnvHttpProxyAgent({ connections, proxyTunnel: false, ...h2, ...(tls && { connect: tls, requestTls: tls }) });
    return { dispatcher, spares: undefined };
  }
  const Agent = load<typeof AgentClass>('dispatcher/agent.js', 'Agent');
  const buildConnector = load<typeof buildConnectorFunction>('core/connect.js', 'buildConnector');
  // The connector undici would build from these options, with spare connections in front.
  const spares = createSpareConnections(buildConnector({ ...tls, allowH2 }));
  return { dispatcher: new Agent({ connections, ...h2, connect: spares.connect }), spares };
}

/**
 * A `ca` list replaces Node's trust store, so the system roots and NODE_EXTRA_CA_CERTS's file
 * go in beside the given certificates: --cacert adds to what is trusted (curl's replaces it), so
 * one run can reach an internal API and public ones.
 */
function trustFor(caCertificates: string | undefined, env: NodeJS.ProcessEnv): { ca: string[] } | undefined {
  if (caCertificates === undefined) return undefined;
  const extra = env.NODE_EXTRA_CA_CERTS ? readIfThere(env.NODE_EXTRA_CA_CERTS) : undefined;
  return { ca: [...rootCertificates, ...(extra === undefined ? [] : [extra]), caCertificates] };
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // Node has said so on stderr at start-up already
  }
}
