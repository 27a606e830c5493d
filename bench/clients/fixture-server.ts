// The fixture server in a process of its own, for the throughput bench (issue #24): no rate
// limit and no hit log (its fast mode), so what it spends per request is little and flat.
// Prints its URL on stdout, then serves until killed.
//
//   node --import tsx bench/clients/fixture-server.ts
import { startFixtureServer } from '../../fixtures/server.js';

const server = await startFixtureServer({ keepLog: false });
process.stdout.write(`${server.url}\n`);
