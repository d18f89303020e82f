// kubetm/ports: the course's p8000 / p8080 containers (two containers in one pod share the network).
// Listens on the port given as first argument or env PORT (default 8000) and answers with it:
//   "port=8000 hostname=<pod>". A second container on a port already in use in the pod exits 1
// with one clear log line (the course's "a port can be used by only one container of a pod").
'use strict';
const http = require('http');
const os = require('os');

const raw = process.argv[2] || process.env.PORT || '8000';
const port = Number(raw);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`ports: invalid port '${raw}': give a number 1..65535 as argument or env PORT`);
  process.exit(2);
}

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`port=${port} hostname=${os.hostname()}\n`);
});
server.on('error', (err) => {
  if (err.code === 'EADDRINUSE') {
    console.error(`ports: port ${port} is already in use (another container of this pod listens on it); exiting`);
  } else {
    console.error(`ports: cannot listen on port ${port}: ${err.message}`);
  }
  process.exit(1);
});
// PID 1 gets no default SIGTERM handler: exit on it so pod deletion is immediate.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
server.listen(port, () => console.log(`ports: listening on port ${port}`));
