/**
 * undici's dispatcher, loaded alone. `import 'undici'` loads all of undici (fetch, WebSocket,
 * caches, mocks): about 90 ms of a run's start-up here, where the agent a run uses takes about
 * 30 ms. undici publishes no exports map, so its modules are the package's to load; if a
 * later undici moves this one, the whole package is loaded instead.
 */
import { createRequire } from 'node:module';
import type { Agent as AgentClass, Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentClass } from 'undici';

const require = createRequire(import.meta.url);

function load<T>(path: string, name: 'Agent' | 'EnvHttpProxyAgent'): T {
  try {
    return require(`undici/lib/dispatcher/${path}`) as T;
  } catch {
    return (require('undici') as Record<string, T>)[name]!;
  }
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

/**
 * Keep-alive pools of `connections` per origin. Through a proxy when HTTP_PROXY or HTTPS_PROXY
 * is set (NO_PROXY exempts hosts); otherwise a plain agent, since the proxy agent reads the
 * environment again for every request.
 */
export function createDispatcher(connections: number, env: NodeJS.ProcessEnv = process.env): Dispatcher {
  if (PROXY_VARIABLES.some((name) => env[name])) {
    const EnvHttpProxyAgent = load<typeof EnvHttpProxyAgentClass>('env-http-proxy-agent.js', 'EnvHttpProxyAgent');
    return new EnvHttpProxyAgent({ connections, proxyTunnel: false });
  }
  const Agent = load<typeof AgentClass>('agent.js', 'Agent');
  return new Agent({ connections });
}
