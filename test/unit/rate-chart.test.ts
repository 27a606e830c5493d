// The picture of a run's rate for docs/rate-control.md (bench/lib/rate-chart.ts): every series drawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRateChart } from '../../bench/lib/rate-chart.js';

test('#23: the rate chart draws the limit, the pace (none while it stands aside), the accepted bars and one tick per 429', () => {
  const svg = renderRateChart({
    title: 'fw1s & co <test>',
    subtitle: 'x'.repeat(200),
    spanS: 4,
    limit: [{ t: 0, rps: 20 }],
    pace: [
      { t: 0, rps: 8 },
      { t: 1, rps: Infinity },
      { t: 2, rps: 19.4 },
    ],
    acceptedPerSecond: [8, 20, 20, 19],
    refusals: [1.2, 2.5],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /fw1s &amp; co &lt;test&gt;/, 'the title escaped');
  assert.match(svg, /x{114}…</, 'a long subtitle cut to fit');
  assert.equal((svg.match(/fill="#d5d5d5"\/>/g) ?? []).length, 4 + 1, 'a bar a second, and the legend');
  assert.equal((svg.match(/stroke="#d62828"/g) ?? []).length, 2 + 1, 'a tick a 429, and the legend');
  const pace = /<path d="([^"]*)" fill="none" stroke="#1f6fd1"/.exec(svg)?.[1] ?? '';
  assert.equal((pace.match(/M/g) ?? []).length, 2, `the pace breaks where the controller stands aside: ${pace}`);
});
