// kubetm/app: the course's practice application (v1, v2, v3 differ only in VERSION).
//
//   GET /            "version=v1 hostname=<pod>" (one line)
//   GET /version     "v1"                      GET /hostname   "<pod hostname>"
//   GET /healthz     200 "ok" (liveness)       GET /health     same (the course's path)
//   GET /status500   /healthz, /health answer 500 from now on; GET /status200 restores 200
//   GET /ready       200 "ready" or 503 "not ready" (readiness); GET /ready/on, /ready/off flip it
//   GET /memory?mb=N allocate N MB more and hold it (OOMKilled lab); /memory?free=1 releases it
//   GET /cpu?ms=N    burn CPU for N ms, in 50 ms slices so probes still get answers (HPA load)
//
// Environment: PORT (8080), VERSION (set at build time), LOG=1 (one line per request on stdout),
// READY=0 (start not ready), SHUTDOWN_DELAY_MS (0: wait this long after SIGTERM before closing the
// listener, for load balancers that lag behind endpoint removal).
//
// SIGTERM/SIGINT: stop accepting, answer requests already received (with "Connection: close"),
// close idle keep-alive connections so clients do not hang, exit 0.
'use strict';
const http = require('http');
const os = require('os');

const VERSION = process.env.VERSION || 'dev';
const PORT = Number(process.env.PORT || 8080);
const LOG = process.env.LOG === '1';
const SHUTDOWN_DELAY_MS = Number(process.env.SHUTDOWN_DELAY_MS || 0);
const SHUTDOWN_TIMEOUT_MS = Number(process.env.SHUTDOWN_TIMEOUT_MS || 25000);
const HOSTNAME = os.hostname();
const MB = 1024 * 1024;

let healthy = true;
let ready = process.env.READY !== '0';
let stopping = false;
const held = []; // 1 MB chunks kept alive by /memory

function send(res, status, body) {
  if (stopping) res.setHeader('Connection', 'close');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function positiveInt(value, name, max) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${name} must be an integer 0..${max}`);
  return n;
}

function burn(ms, done) {
  const end = Date.now() + ms;
  (function slice() {
    const stop = Math.min(end, Date.now() + 50);
    let x = 0;
    while (Date.now() < stop) x += Math.sqrt(x + 1);
    if (Date.now() < end) setImmediate(slice);
    else done();
  })();
}

const routes = {
  '/': (q, res) => send(res, 200, `version=${VERSION} hostname=${HOSTNAME}\n`),
  '/version': (q, res) => send(res, 200, VERSION),
  '/hostname': (q, res) => send(res, 200, HOSTNAME),
  '/healthz': (q, res) => send(res, healthy ? 200 : 500, healthy ? 'ok\n' : 'unhealthy\n'),
  '/status500': (q, res) => { healthy = false; send(res, 200, 'health now answers 500\n'); },
  '/status200': (q, res) => { healthy = true; send(res, 200, 'health now answers 200\n'); },
  '/ready': (q, res) => send(res, ready && !stopping ? 200 : 503, ready && !stopping ? 'ready\n' : 'not ready\n'),
  '/ready/on': (q, res) => { ready = true; send(res, 200, 'ready\n'); },
  '/ready/off': (q, res) => { ready = false; send(res, 200, 'not ready\n'); },
  '/memory': (q, res) => {
    if (q.get('free')) held.length = 0;
    const mb = positiveInt(q.get('mb') || 0, 'mb', 65536);
    for (let i = 0; i < mb; i++) held.push(Buffer.allocUnsafe(MB).fill(i & 0xff)); // touch every page
    send(res, 200, `allocated ${mb} MB, holding ${held.length} MB\n`);
  },
  '/cpu': (q, res) => {
    const ms = positiveInt(q.get('ms') || 100, 'ms', 600000);
    const start = Date.now();
    burn(ms, () => send(res, 200, `burned ${Date.now() - start} ms on ${HOSTNAME}\n`));
  },
};
routes['/health'] = routes['/healthz'];

const server = http.createServer((req, res) => {
  const started = process.hrtime.bigint();
  if (LOG) {
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
  }
  const url = new URL(req.url, 'http://x');
  const route = routes[url.pathname];
  if (!route) return send(res, 404, 'not found\n');
  try {
    route(url.searchParams, res);
  } catch (err) {
    send(res, err instanceof RangeError ? 400 : 500, `${err.message}\n`);
  }
});

// Connections and whether a request is being answered on them, so shutdown can close idle ones.
const busy = new Map();
server.on('connection', (socket) => {
  busy.set(socket, 0);
  socket.on('close', () => busy.delete(socket));
});
server.on('request', (req, res) => {
  const socket = req.socket;
  busy.set(socket, (busy.get(socket) || 0) + 1);
  res.on('finish', () => {
    const n = (busy.get(socket) || 1) - 1;
    busy.set(socket, n);
    if (stopping && n === 0) closeSocket(socket);
  });
});

// Flush what was written, then close both directions (an idle keep-alive client may never close its side).
function closeSocket(socket) {
  socket.end(() => socket.destroy());
}

server.on('error', (err) => {
  console.error(`app: cannot listen on port ${PORT}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`);
  process.exit(1);
});

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`app ${VERSION}: ${signal} received, finishing ${[...busy.values()].filter((n) => n > 0).length} request(s)`);
  setTimeout(() => {
    server.close(() => {
      console.log(`app ${VERSION}: stopped`);
      process.exit(0);
    });
    for (const [socket, n] of busy) if (n === 0) socket.destroy(); // idle keep-alive connections
  }, SHUTDOWN_DELAY_MS);
  setTimeout(() => {
    console.error(`app ${VERSION}: requests still open after ${SHUTDOWN_TIMEOUT_MS} ms, exiting`);
    process.exit(1);
  }, SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

server.keepAliveTimeout = 5000;
server.listen(PORT, () => console.log(`app ${VERSION} listening on :${PORT} (hostname ${HOSTNAME})`));
