// Benchmark: time from navigation start to the map's first completed layout, in headless
// Chromium, for a running `palisade serve` (docs/benchmarks.md). Usage:
//   node first-render.mjs URL [RUNS] [SCREENSHOT.png]
import { chromium } from 'playwright-core';

const [url, runsArg, screenshot] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const browser = await chromium.launch({
  executablePath: process.env.PALISADE_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-first-render-ms]', { timeout: 120000 });
  const ms = Number(await page.getAttribute('body', 'data-first-render-ms'));
  const nodes = await page.evaluate(() => [window.palisade.cy().nodes().length, window.palisade.cy().edges().length, document.body.dataset.loadedMs, Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)]);
  times.push(ms);
  console.log(`run ${i + 1}: first map render ${ms} ms (${nodes[0]} nodes, ${nodes[1]} edges drawn; page loaded ${nodes[3]} ms, data loaded ${nodes[2]} ms)`);
  if (screenshot && i === 0) await page.screenshot({ path: screenshot });
  await context.close();
}
times.sort((a, b) => a - b);
console.log(`median ${times[Math.floor(times.length / 2)]} ms, min ${times[0]} ms, max ${times[times.length - 1]} ms over ${runs} runs`);
await browser.close();
