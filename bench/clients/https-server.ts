// The https server (HTTP/2 and HTTP/1.1 by ALPN) in a process of its own, for the throughput
// bench's --http2 rows (issue #24). Reads the self-signed certificate the bench made, prints
// its URL on stdout, then serves until killed.
//
//   node --import tsx bench/clients/https-server.ts CERT_FILE KEY_FILE
import { readFileSync } from 'node:fs';
import { startHttpsServer } from '../../fixtures/https-server.js';

const [certFile, keyFile] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined) throw new Error('usage: https-server.ts CERT_FILE KEY_FILE');
const server = await startHttpsServer({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') });
process.stdout.write(`${server.url}\n`);
