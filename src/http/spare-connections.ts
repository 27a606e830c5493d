/**
 * Connections opened ahead of the rate. At the start of a run undici has no connection, so
 * each of the first requests waits for a connect of its own, and those that waited reach the
 * server together: at --rps 1000 the server counted 1,028 in the first second where the bound
 * is 1,020. Opening the connections the first second will need before the first start, and
 * handing them to undici as it asks for connections, puts every start on the wire at once.
 *
 * This is undici's `connect` option: a function undici calls for each new connection. It
 * gives a spare socket for that origin while one is left and still open, else connects as
 * undici's own connector does.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';

type Connector = buildConnector.connector;
type ConnectOptions = buildConnector.Options;

export interface SpareConnections {
  /** undici's `connect` option. */
  readonly connect: Connector;
  /**
   * Opens `count` connections to `origin` and waits until each is open or has failed (a
   * failure is left for the requests themselves to meet), or `maxWaitMs` has passed.
   */
  warm(origin: URL, count: number, maxWaitMs: number): Promise<void>;
  /** Spares open and not yet taken. */
  idle(): number;
  /** Closes the spares nobody took. */
  close(): void;
}

export function createSpareConnections(connector: Connector): SpareConnections {
  const spares = new Map<string, Socket[]>();
  // Connects still on their way: a run that ends first must not be kept alive by them.
  const connecting = new Set<Socket>();
  let closed = false;
  // A spare the server closes while it waits leaves the list at once: undici would fail on it.
  function drop(this: Socket) {
    for (const list of spares.values()) {
      const at = list.indexOf(this);
      if (at >= 0) list.splice(at, 1);
    }
  }

  function keep(key: string, socket: Socket) {
    const list = spares.get(key) ?? [];
    spares.set(key, list);
    list.push(socket);
    socket.once('close', drop);
  }

  const connect: Connector = (options, callback) => {
    const list = spares.get(keyOf(options)) ?? [];
    for (let socket = list.pop(); socket !== undefined; socket = list.pop()) {
      socket.off('close', drop);
      // Half-closed by the server (its FIN in, the close not yet): undici would fail on it.
      if (socket.readyState !== 'open') {
        socket.destroy();
        continue;
      }
      queueMicrotask(() => callback(null, socket));
      return;
    }
    connector(options, callback);
  };

  return {
    connect,
    async warm(origin, count, maxWaitMs) {
      const options = optionsFor(origin);
      const key = keyOf(options);
      const opened = Array.from(
        { length: count },
        () =>
          new Promise<void>((resolve) => {
            // undici's connector returns the socket it is connecting, though its types say void.
            const pending = (connector as (...args: Parameters<Connector>) => unknown)(options, (error, socket) => {
              connecting.delete(pending as Socket);
              if (error === null && socket !== null) {
                if (closed) socket.destroy();
                else keep(key, socket as Socket);
              }
              resolve();
            });
            if (pending instanceof Object && 'destroy' in pending) connecting.add(pending as Socket);
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
      await Promise.race([Promise.all(opened), late]);
      clearTimeout(timer);
    },
    idle: () => [...spares.values()].reduce((sum, list) => sum + list.length, 0),
    close() {
      closed = true;
      for (const list of spares.values()) for (const socket of list) socket.destroy();
      for (const socket of connecting) socket.destroy();
      spares.clear();
      connecting.clear();
    },
  };
}

/** What undici passes its connector for an origin (dispatcher/client.js `connect`). */
function optionsFor(origin: URL): ConnectOptions {
  const hostname = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
  return { hostname, host: origin.host, protocol: origin.protocol, port: origin.port, servername: undefined, localAddress: null } as ConnectOptions;
}

function keyOf(options: ConnectOptions): string {
  return `${options.protocol}//${options.hostname}:${options.port}`;
}
