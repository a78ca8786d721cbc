// Pushes 3 lines with pino-loki (JSON) to the Loki URL in argv[2].
const pino = require('pino');
const { pinoLoki } = require('pino-loki');

const host = process.argv[2];
const run = process.argv[3];
let failed = false;
const stream = pinoLoki({
  host,
  batching: false,
  labels: { client: 'pino', run },
  timeout: 10000,
  silenceErrors: false,
});
stream.on('error', (err) => { failed = true; console.error('push failed:', err && err.message); });
const logger = pino({}, stream);
for (let i = 0; i < 3; i++) {
  logger.info(`pino line ${i}`);
}
setTimeout(() => process.exit(failed ? 1 : 0), 1500);
