// Preloaded before the course's hello.js (node --require), which stays exactly as the course wrote it.
//
// hello.js calls resp.writeHead(200) after resp.end(). Node.js versions the course was recorded with
// ignored that; current Node.js (18, 20) throws ERR_HTTP_HEADERS_SENT and the process dies after the
// first request. Here a writeHead on an already-sent response does nothing, as before, so every
// request gets the same "200 Hello Kubernetes!" the course shows.
//
// Node.js as PID 1 also ignores SIGTERM (no default handler for PID 1): exit on it so `docker stop`
// and pod deletion take milliseconds instead of the 10/30 s kill timeout.
'use strict';
const http = require('http');

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (...args) {
  if (this.headersSent) return this;
  return writeHead.apply(this, args);
};

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
