// #22 §4: a start holds a slot of the start gate, and its promise is the request's time on the
// wire. A bug while acting on an outcome rejects it; the run must end with that error (the CLI's
// exit 70), not leave it unhandled nor wait forever for the record that never comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchAll } from '../../src/index.js';
import { collect, FAST, startServer, watchUnhandledRejections } from '../helpers.js';

test('#22: a bug while acting on an outcome ends the run with that error, not an unhandled rejection or a hang', { timeout: 20_000 }, async (t) => {
  const server = await startServer(t);
  const rejections = watchUnhandledRejections(t);
  const bug = new Error('a listener bug');
  const urls = Array.from({ length: 5 }, (_, i) => `${server.url}/delay/50?i=${i}`);
  const onEvent = (event: { type: string }) => {
    if (event.type === 'attempt-end') throw bug;
  };
  await assert.rejects(collect(fetchAll(urls, { ...FAST, concurrency: 2 }, { onEvent })), bug);
  assert.deepEqual(rejections, []);
});
