// End-to-end run of the aggregator's explore page in Debian's Chromium, driven by playwright-core.
// Started by ExplorePageBrowserTests (tests/Pipeline.Aggregator.Tests/Explore) with a running aggregator that holds
// its test data:  node explore-e2e.js <base-url> <screenshot-folder>
// Prints one line per step; exits non-zero with the failing step's message.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const base = (process.argv[2] || '').replace(/\/$/, '');
const shots = process.argv[3];
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!base || !shots) {
  console.error('usage: node explore-e2e.js <base-url> <screenshot-folder>');
  process.exit(2);
}

const TIMEOUT = 30000;

function step(name) { console.log('step: ' + name); }

function check(condition, message) {
  if (!condition) { throw new Error(message); }
}

async function push(labels, line) {
  const ns = (BigInt(Date.now()) * 1000000n).toString();
  const response = await fetch(base + '/loki/api/v1/push', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: labels, values: [[ns, line]] }] }),
  });
  check(response.status === 204, 'push answered ' + response.status + ': ' + await response.text());
}

async function runQuery(page, query) {
  await page.fill('#query', query);
  await page.press('#query', 'Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'idle', null, { timeout: TIMEOUT });
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'explore-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
    timeout: 60000,
  });
  const problems = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    // The LogQL error step makes the API answer 400 on purpose; anything else logged as an error is a problem.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('status of 400')) { problems.push('console error: ' + m.text()); }
    });
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(base) && !url.startsWith(base.replace(/^http/, 'ws')) && !url.startsWith('data:')) {
        problems.push('request to another origin: ' + url);
      }
    });
    const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: false });

    step('open the page; the label browser lists label names');
    await page.goto(base + '/');
    await page.waitForSelector('#label-names .chip[data-label="app"]');
    await shot('01-start');

    step('run a log query with Enter: histogram bars and lines');
    await runQuery(page, '{app="api"}');
    await page.waitForFunction(() => Number(document.getElementById('volume').dataset.bars) > 0);
    await page.waitForFunction(() => Number(document.getElementById('lines').dataset.count) > 0);
    const errorHidden = await page.isHidden('#error');
    check(errorHidden, 'an error is shown: ' + await page.textContent('#error'));
    const url = new URL(page.url());
    check(url.searchParams.get('query') === '{app="api"}', 'the URL does not hold the query: ' + page.url());
    const levels = await page.$$eval('#volume-legend .legend-item', (items) => items.map((i) => i.textContent));
    check(levels.includes('error') && levels.includes('info'), 'volume legend lacks levels: ' + levels.join(','));
    const timestamps = await page.$$eval('#lines .row .ts', (items) => items.slice(0, 50).map((i) => i.textContent));
    check(timestamps.every((t, i) => i === 0 || timestamps[i - 1] >= t), 'lines are not newest first');
    await page.click('#lines .row >> nth=0');
    await page.waitForSelector('#lines .row .details');
    const details = await page.textContent('#lines .row .details');
    check(details.includes('app') && details.includes('api'), 'expanded labels missing: ' + details);
    await shot('02-log-query');

    step('click a label value: the selector is built and run');
    await page.click('#label-names .chip[data-label="level"]');
    await page.click('#label-values .chip[data-value="error"]');
    await page.waitForFunction(() => document.getElementById('query').value === '{app="api", level="error"}');
    await page.waitForFunction(() => document.body.dataset.state === 'idle');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#lines .row')];
      return rows.length > 0 && rows.every((r) => r.classList.contains('lvl-error'));
    });
    await shot('03-label-value');

    step('run a metric query: a line chart with one series per label set');
    await runQuery(page, 'sum by (app) (count_over_time({app=~"api|web|worker"} [1m]))');
    await page.waitForFunction(() => Number(document.getElementById('chart').dataset.series) >= 3);
    check(await page.isVisible('#chart-panel'), 'chart hidden');
    check(await page.isHidden('#volume-panel'), 'volume shown for a metric query');
    const legend = await page.$$eval('#chart-legend .legend-item', (items) => items.map((i) => i.textContent));
    check(legend.some((l) => l.includes('app="api"')) && legend.some((l) => l.includes('app="web"')), 'legend: ' + legend.join(' | '));
    await page.hover('#chart', { position: { x: 700, y: 150 } });
    await shot('04-metric-query');

    step('a LogQL error is shown as the API says it');
    await runQuery(page, '{app="api"');
    await page.waitForSelector('#error:not([hidden])');
    const error = await page.textContent('#error');
    check(error.includes('parse error'), 'error text: ' + error);
    await shot('05-error');

    step('opening a URL with a query runs it');
    await page.goto(base + '/?query=' + encodeURIComponent('{app="web"}') + '&from=now-6h&to=now&limit=50');
    await page.waitForFunction(() => Number(document.getElementById('lines').dataset.count) > 0);
    check(await page.inputValue('#query') === '{app="web"}', 'query not loaded from the URL');
    check(await page.inputValue('#range') === '6h', 'range not loaded from the URL');
    check(Number(await page.getAttribute('#lines', 'data-count')) === 50, 'limit from the URL not applied');

    step('a custom time range in the URL (Unix ms) is loaded and run');
    const to = Date.now();
    await page.goto(base + '/?query=' + encodeURIComponent('{app="worker"}') + '&from=' + (to - 2 * 3600 * 1000) + '&to=' + to);
    await page.waitForFunction(() => Number(document.getElementById('lines').dataset.count) === 30);
    check(await page.inputValue('#range') === 'custom', 'custom range not loaded from the URL');
    check(await page.isVisible('#from') && await page.isVisible('#to'), 'custom range inputs hidden');

    step('10,000 lines: 2,500 then "load older" three times');
    let started = Date.now();
    await page.goto(base + '/?query=' + encodeURIComponent('{app="bulk"}') + '&from=now-1h&to=now&limit=2500');
    await page.waitForFunction(() => Number(document.getElementById('lines').dataset.count) === 2500);
    const first = Date.now() - started;
    started = Date.now();
    for (let shown = 5000; shown <= 10000; shown += 2500) {
      await page.click('#older');
      await page.waitForFunction((n) => Number(document.getElementById('lines').dataset.count) === n, shown);
    }
    console.log(`info: 2500 lines shown in ${first} ms, 7500 older in ${Date.now() - started} ms (indicative)`);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight / 2));
    await shot('06-ten-thousand-lines');
    await page.evaluate(() => window.scrollTo(0, 0));

    step('live tail: a pushed line appears on top; pause holds lines back');
    await runQuery(page, '{app="api"}');
    await page.click('#live');
    await page.waitForFunction(() => document.getElementById('tail-status').textContent.startsWith('Live'));
    await push({ app: 'api', level: 'warn' }, 'level=warn msg="pushed while tailing" n=1');
    await page.waitForFunction(() => document.querySelector('#lines .row .msg').textContent.includes('pushed while tailing'));
    await shot('07-live-tail');
    await page.click('#pause');
    await push({ app: 'api', level: 'info' }, 'level=info msg="pushed while paused" n=2');
    await page.waitForFunction(() => document.getElementById('tail-status').textContent.includes('1 new line waiting'));
    check(!(await page.textContent('#lines .row .msg')).includes('pushed while paused'), 'a line was shown while paused');
    await shot('08-live-paused');
    await page.click('#pause');
    await page.waitForFunction(() => document.querySelector('#lines .row .msg').textContent.includes('pushed while paused'));
    await page.click('#live');
    await page.waitForFunction(() => document.getElementById('live').getAttribute('aria-pressed') === 'false');

    check(problems.length === 0, problems.join('\n'));
    console.log('ok: all steps passed; screenshots in ' + shots);
  } catch (e) {
    const page = context.pages()[0];
    if (page) {
      await page.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => { });
      console.log('state at failure: status="' + await page.textContent('#status').catch(() => '') + '" error="'
        + await page.textContent('#error').catch(() => '') + '" lines=' + await page.getAttribute('#lines', 'data-count').catch(() => ''));
    }
    if (problems.length) { console.log(problems.join('\n')); }
    throw e;
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error('FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
