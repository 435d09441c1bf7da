// Preloaded into `wrangler dev` by the Workers bench (NODE_OPTIONS=--require). wrangler's local
// Hyperdrive stand-in (miniflare's HyperdriveProxyController) relays workerd ↔ PostgreSQL through
// Node sockets left with Nagle's algorithm on: a small write that follows an unacknowledged one waits
// for the peer's delayed ACK, about 40 ms. The bench's wire trace (bench/workers-trace.ts) showed
// such stalls between a statement's describe and its execute whenever queries follow each other
// closely (four or five per checkout page, ~45 ms each). Hyperdrive itself is not this relay, so the
// bench turns Nagle off on every socket of the wrangler process (TCP_NODELAY, as Node's own HTTP
// server does) to measure the Worker rather than the relay; BENCH_WORKERS_NAGLE=1 leaves it on.
'use strict';
const net = require('node:net');

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  this.setNoDelay(true);
  return connect.apply(this, args);
};
const createServer = net.createServer;
net.createServer = function (...args) {
  const server = createServer.apply(this, args);
  server.on('connection', (socket) => socket.setNoDelay(true));
  return server;
};
