// The load generator's thread: keeps exactly `concurrency` requests in flight over keep-alive
// connections for `durationMs`, and reports each request's latency. Plain JS because worker threads
// do not get tsx's loader.
import { Agent, request } from 'node:http';
import { parentPort } from 'node:worker_threads';

const agents = new Map();

function agentFor(concurrency) {
  let agent = agents.get(concurrency);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
    agents.set(concurrency, agent);
  }
  return agent;
}

function once(url, init, agent) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(url, { method: init.method, headers: init.headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          body:
            res.statusCode === init.expectStatus ? '' : Buffer.concat(chunks).toString('utf8').slice(0, 500),
        }),
      );
      res.on('error', (err) => resolve({ status: 0, ms: performance.now() - started, body: String(err) }));
    });
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - started, body: String(err) }));
    req.end(init.body);
  });
}

async function run(job) {
  const agent = agentFor(job.concurrency);
  const latencies = [];
  const statuses = {};
  let firstError;
  const start = performance.now();
  const deadline = start + job.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const r = await once(job.url, job, agent);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === job.expectStatus) latencies.push(r.ms);
      else firstError ??= `${r.status} ${r.body}`;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  const elapsedMs = performance.now() - start;
  const lat = Float64Array.from(latencies);
  return { ok: lat.length, elapsedMs, statuses, firstError, latencies: lat };
}

parentPort.on('message', async (msg) => {
  if (msg.type === 'stop') {
    for (const a of agents.values()) a.destroy();
    parentPort.close();
    return;
  }
  const result = await run(msg.job);
  parentPort.postMessage({ id: msg.id, result }, [result.latencies.buffer]);
});
