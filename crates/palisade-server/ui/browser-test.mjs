// The UI in headless Chromium (run by crates/palisade-server/tests/browser.rs, which starts
// the server and writes the report). Exits non-zero on the first failed check.
// Waits are bounded only so that a broken page fails instead of hanging: nothing here
// asserts how long anything takes.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const URL_ = env('PALISADE_URL');
const REPORT = env('PALISADE_REPORT');
const WATCH_FILE = env('PALISADE_WATCH_FILE');
const SHOTS = env('PALISADE_SCREENSHOTS');
const VENDOR = env('PALISADE_VENDOR');
const WAIT = { timeout: 30000 };

function step(name) { console.log(`browser-test: ${name}`); }

// The embedded libraries are the pinned npm packages' files (minus the source-map comment).
step('vendored libraries match ui/package-lock.json');
const here = new URL('.', import.meta.url).pathname;
const strip = (s) => s.split('\n').filter((l) => !l.startsWith('//# sourceMappingURL=')).join('\n');
for (const [file, pkg] of [['cytoscape.min.js', 'cytoscape/dist/cytoscape.min.js'], ['cytoscape-dagre.min.js', 'cytoscape-dagre/dist/cytoscape-dagre.min.js']]) {
  const embedded = readFileSync(join(VENDOR, file), 'utf8');
  const published = strip(readFileSync(join(here, 'node_modules', pkg), 'utf8'));
  assert.equal(embedded.trim(), published.trim(), `${file} differs from node_modules/${pkg}: run scripts/vendor-ui.sh`);
}

const browser = await chromium.launch({
  executablePath: env('PALISADE_CHROMIUM'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });

async function open(url) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  // Nothing may leave the page but requests to the server itself (none at all for the report).
  page.on('request', (r) => {
    const u = r.url();
    if (!(u.startsWith(URL_.replace(/\/\?.*$/, '').replace(/\/$/, '')) || u.startsWith('file:') || u.startsWith('data:'))) problems.push(`unexpected request ${u}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', WAIT);
  await page.waitForSelector('body[data-map-rendered]', WAIT);
  return { page, problems };
}

async function shot(page, name) { await page.screenshot({ path: join(SHOTS, name) }); }

// Clicks the map's edge between two workloads with the mouse, at its drawn midpoint.
async function clickEdge(page, src, dst) {
  const point = await page.evaluate(([s, d]) => {
    const e = window.palisade.cy().edges().filter((x) => x.data('src') === s && x.data('dst') === d)[0];
    if (!e) return null;
    const m = e.renderedMidpoint();
    const box = document.getElementById('map-canvas').getBoundingClientRect();
    return { x: box.left + m.x, y: box.top + m.y, verdict: e.data('verdict') };
  }, [src, dst]);
  assert.ok(point, `no ${src} → ${dst} edge on the map`);
  await page.mouse.click(point.x, point.y);
  return point;
}

async function expectBrokenEdgeExplained(page) {
  await page.waitForSelector('#explain-out .verdict', WAIT);
  const verdict = await page.textContent('#explain-out .verdict');
  assert.match(verdict, /DENIED/);
  assert.match(verdict, /shop\/checkout/);
  const ingress = page.locator('#explain-out .sidebox[data-side="ingress"]');
  await ingress.locator('pre.code').waitFor(WAIT);
  const text = await ingress.textContent();
  assert.match(text, /payments\/payments-api/, 'the deciding policy is named');
  assert.match(text, /app=chekout/, 'the label typo is named');
  assert.match(text, /payments-api\.yaml:18/, 'the rule is located');
  const yaml = await ingress.locator('pre.code').textContent();
  assert.match(yaml, /app: chekout/, 'the YAML of the rule is shown');
  // The tier that decided: NetworkPolicy here (no admin rule applies to payments-api).
  assert.equal(await ingress.locator('.tier').getAttribute('data-tier'), 'networkpolicy');
}

// ---- served page --------------------------------------------------------------------------
step('served: map');
const { page, problems } = await open(URL_);
const mapInfo = await page.evaluate(() => ({
  nodes: window.palisade.cy().nodes().length,
  broken: window.palisade.cy().edges().filter((e) => e.data('src') === 'shop/checkout' && e.data('dst') === 'payments/payments-api').map((e) => e.data('verdict')),
}));
assert.ok(mapInfo.nodes >= 12, `map shows ${mapInfo.nodes} nodes`);
assert.deepEqual(mapInfo.broken, ['denied']);
await shot(page, 'map.png');

step('served: clicking the broken edge explains it');
const point = await clickEdge(page, 'shop/checkout', 'payments/payments-api');
assert.equal(point.verdict, 'denied');
await expectBrokenEdgeExplained(page);
await shot(page, 'explain.png');

step('served: matrix');
await page.click('#tab-matrix');
await page.fill('#matrix-port', '8080');
await page.click('#matrix-go');
const cell = page.locator('td[data-from="shop/checkout"][data-to="payments/payments-api"]');
await cell.waitFor(WAIT);
assert.equal((await cell.textContent()).trim(), '✕');
assert.equal((await page.locator('td[data-from="shop/frontend"][data-to="shop/catalog"]').textContent()).trim(), '✓');
await shot(page, 'matrix.png');
await cell.click();
await expectBrokenEdgeExplained(page);

step('served: timeline');
await page.click('#tab-timeline');
await page.waitForSelector('#timeline-chart svg .session', WAIT);
const timedOut = await page.locator('#timeline-chart [data-observed="timed-out"]').count();
assert.equal(timedOut, 3, 'checkout → payments-api twice and the sandbox once');
const rows = await page.locator('#timeline-sessions tbody tr').allTextContents();
assert.equal(rows.filter((r) => r.includes('shop/checkout') && r.includes('payments/payments-api') && r.includes('timed-out')).length, 2);
assert.ok((await page.locator('#timeline-chart .ring').count()) >= 2, 'flagged sessions are ringed');
assert.match(await page.textContent('#timeline-changes'), /would open/);
await shot(page, 'timeline.png');
await page.locator('#timeline-chart [data-observed="timed-out"]').first().click();
assert.match(await page.textContent('#session-detail'), /timed-out/);
assert.match(await page.textContent('#session-detail'), /default-deny/);

step('served: brushing a time range filters the other views');
const box = await page.locator('#timeline-chart svg').boundingBox();
const before = await page.locator('#timeline-sessions tbody tr').count();
await page.mouse.move(box.x + box.width * 0.62, box.y + box.height / 2);
await page.mouse.down();
await page.mouse.move(box.x + box.width * 0.99, box.y + box.height / 2, { steps: 5 });
await page.mouse.up();
assert.match(await page.textContent('#timeline-range'), /Time range/);
const after = await page.locator('#timeline-sessions tbody tr').count();
assert.ok(after > 0 && after < before, `brushed ${after} of ${before} sessions`);
await page.click('#tab-map');
await page.waitForFunction(() => document.getElementById('map-count').textContent !== '', null, WAIT);
const brushedEdges = await page.locator('#map-edges tbody tr').count();
await page.click('#tab-timeline');
await page.click('#timeline-clear');
await page.click('#tab-map');
const allEdges = await page.locator('#map-edges tbody tr').count();
assert.ok(brushedEdges < allEdges, `map edges ${brushedEdges} in the range, ${allEdges} in all`);

step('served: keyboard navigation of the edge list');
await page.locator('#map-edges tbody tr').first().focus();
await page.keyboard.press('ArrowDown');
const focused = await page.evaluate(() => document.activeElement.closest('tbody') === document.querySelector('#map-edges tbody') && document.activeElement.previousElementSibling !== null);
assert.ok(focused, 'ArrowDown moves to the next row');
await page.keyboard.press('Enter');
await page.waitForSelector('#view-explain:not([hidden]) .verdict', WAIT);

step('served: findings and diff');
await page.click('#tab-findings');
await page.waitForSelector('.finding pre.code', WAIT);
assert.ok((await page.locator('.finding').count()) >= 1);
assert.ok((await page.locator('#audit tbody tr').count()) === 5);
await shot(page, 'findings.png');
await page.click('#tab-diff');
const diff = await page.textContent('#diff');
assert.match(diff, /\+ opens/);
assert.match(diff, /shop\/checkout/);
await shot(page, 'diff.png');

step('served: focus links the views');
await page.evaluate(() => window.palisade.setFocus('payments/payments-api'));
await page.click('#tab-timeline');
const focusRows = await page.locator('#timeline-sessions tbody tr').allTextContents();
assert.ok(focusRows.length > 0 && focusRows.every((r) => r.includes('payments/payments-api')));
await page.evaluate(() => window.palisade.setFocus(null));
assert.deepEqual(problems, [], 'no console errors (CSP violations included)');

// ---- --watch ------------------------------------------------------------------------------
step('served: --watch picks up an edited manifest');
await page.click('#tab-map');
const gen0 = Number(await page.getAttribute('body', 'data-generation'));
const original = readFileSync(WATCH_FILE, 'utf8');
writeFileSync(WATCH_FILE, original.replace('app: chekout', 'app: checkout'));
await page.waitForFunction((g) => Number(document.body.dataset.generation) > g, gen0, WAIT);
await page.waitForFunction(() => {
  const cy = window.palisade.cy();
  return cy.edges().filter((e) => e.data('src') === 'shop/checkout' && e.data('dst') === 'payments/payments-api' && e.data('verdict') === 'mismatch').length === 1;
}, null, WAIT);
await page.evaluate(() => window.palisade.openExplain('shop/checkout', 'payments/payments-api', 8080, 'TCP'));
await page.waitForSelector('#explain-out .verdict.allowed', WAIT);

step('served: a load error is shown and the last good model stays');
const gen1 = Number(await page.getAttribute('body', 'data-generation'));
writeFileSync(WATCH_FILE, original.replace('app: chekout', 'app: checkout').replace(/port: http/, 'port: 99999'));
await page.waitForSelector('#banner:not([hidden])', WAIT);
assert.match(await page.textContent('#banner'), /Reload failed/);
assert.match(await page.textContent('#banner'), /payments-api\.yaml/, 'the error names the file');
assert.ok(Number(await page.getAttribute('body', 'data-generation')) > gen1);
await page.evaluate(() => window.palisade.openExplain('shop/checkout', 'payments/payments-api', 8080, 'TCP'));
await page.waitForSelector('#explain-out .verdict.allowed', WAIT);
writeFileSync(WATCH_FILE, original);
await page.waitForSelector('#banner[hidden]', { ...WAIT, state: 'attached' });
await page.close();

// ---- the report, from disk ----------------------------------------------------------------
step('report: opened from disk');
const rep = await open(pathToFileURL(REPORT).href);
await shot(rep.page, 'report-map.png');
await clickEdge(rep.page, 'shop/checkout', 'payments/payments-api');
await expectBrokenEdgeExplained(rep.page);
await rep.page.click('#tab-timeline');
await rep.page.waitForSelector('#timeline-chart svg .session', WAIT);
assert.equal(await rep.page.locator('#timeline-chart [data-observed="timed-out"]').count(), 3);
await shot(rep.page, 'report-timeline.png');
await rep.page.click('#tab-matrix');
await rep.page.waitForSelector('table.matrix td', WAIT);
await rep.page.click('#tab-findings');
await rep.page.waitForSelector('.finding pre.code', WAIT);
await rep.page.click('#tab-diff');
assert.match(await rep.page.textContent('#diff'), /\+ opens/);
assert.deepEqual(rep.problems, [], 'no console errors and no network in the report');

await browser.close();
step('all checks passed');
