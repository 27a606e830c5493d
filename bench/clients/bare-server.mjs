// A bare node:http server for the throughput bench (issue #24): every request gets a small JSON
// body at once, with keep-alive. It shows what a server that costs nearly nothing allows, next to
// the fixture server. Prints its URL on stdout, then serves until killed. GET /__connections
// says how many connections were opened since the last time it was asked.
//
//   node bench/clients/bare-server.mjs [HOST]
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
let connections = 0;
const server = createServer((request, response) => {
  // The bench asks how many connections the last client opened (this request's own left out), and starts the count again.
  if (request.url === '/__connections') {
    response.end(JSON.stringify({ connections: connections - 1 }));
    connections = 0;
    return;
  }
  const body = JSON.stringify({ path: request.url, name: 'item', tags: ['a', 'b'], price: 9.5 });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
server.keepAliveTimeout = 60_000;
server.on('connection', () => {
  connections += 1;
});
server.listen(0, host, () => {
  const { port } = server.address();
  process.stdout.write(`http://${host}:${port}\n`);
});
