// Pushes 3 lines with winston-loki (protobuf + snappy, its default) to the Loki URL in argv[2].
const { createLogger } = require('winston');
const LokiTransport = require('winston-loki');

const host = process.argv[2];
const run = process.argv[3];
let failed = false;
const transport = new LokiTransport({
  host,
  labels: { client: 'winston', run },
  json: false,
  batching: false,
  timeout: 10000,
  onConnectionError: (err) => { failed = true; console.error('push failed:', err && err.message); },
});
const logger = createLogger({ transports: [transport] });
for (let i = 0; i < 3; i++) {
  logger.info(`winston line ${i}`, { labels: { level: 'info' } });
}
setTimeout(async () => {
  try { await transport.flush(); } catch (e) { failed = true; console.error(e.message); }
  logger.close();
  process.exit(failed ? 1 : 0);
}, 500);
