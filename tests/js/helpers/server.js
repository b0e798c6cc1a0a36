'use strict';
// Starts and stops a `chronicle serve` process for one test file.
//
// The binary comes from $CHRONICLE_BIN (default <repo>/target/debug/chronicle).
// The whole environment is passed through unchanged, so variables such as
// CHRONICLE_TEST_STACK reach the server.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const DEFAULT_BIN = path.join(REPO_ROOT, 'target', 'debug', 'chronicle');
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_LOG_CHARS = 64 * 1024;

function binaryPath() {
  return process.env.CHRONICLE_BIN || DEFAULT_BIN;
}

function randomKey(prefix) {
  return `${prefix}${crypto.randomBytes(12).toString('hex')}`;
}

/** Finds a free TCP port by binding port 0 and closing the socket again. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(err => (err ? reject(err) : resolve(port)));
    });
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

function appendBounded(buf, chunk) {
  const next = buf + chunk;
  return next.length > MAX_LOG_CHARS ? next.slice(next.length - MAX_LOG_CHARS) : next;
}

async function startOnce(extraArgs = []) {
  const bin = binaryPath();
  if (!fs.existsSync(bin)) {
    throw new Error(
      `chronicle binary not found at ${bin} (set CHRONICLE_BIN or build target/debug/chronicle)`,
    );
  }
  const port = await freePort();
  const dataDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'chronicle-js-'));
  const cfg = {
    appId: randomKey('app'),
    masterKey: randomKey('master'),
    javascriptKey: randomKey('js'),
    restAPIKey: randomKey('rest'),
  };
  const args = [
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--appId', cfg.appId,
    '--masterKey', cfg.masterKey,
    '--javascriptKey', cfg.javascriptKey,
    '--restAPIKey', cfg.restAPIKey,
    '--dataDir', dataDir,
    ...extraArgs,
  ];
  if (process.env.CHRONICLE_TEST_STACK === 'distributed') {
    // The same process on PostgreSQL and Kafka, isolated by its own schema and topic.
    for (const name of ['CHRONICLE_TEST_DATABASE_URL', 'CHRONICLE_TEST_KAFKA_BROKERS']) {
      if (!process.env[name]) throw new Error(`${name} must be set for the distributed stack`);
    }
    const ns = `t_js_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    args.push(
      '--databaseURI', process.env.CHRONICLE_TEST_DATABASE_URL,
      '--readModelSchema', ns,
      '--kafkaBrokers', process.env.CHRONICLE_TEST_KAFKA_BROKERS,
      '--kafkaTopic', ns,
      '--kafkaPartitions', '3',
      '--databasePoolSize', '4',
    );
  }
  const child = spawn(bin, args, { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', d => { stdout = appendBounded(stdout, d); });
  child.stderr.on('data', d => { stderr = appendBounded(stderr, d); });

  let exited = null;
  const exitPromise = new Promise(resolve => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', err => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const logs = () => `--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`;
  const cleanupDir = () => fs.promises.rm(dataDir, { recursive: true, force: true });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (exited) {
      await cleanupDir();
      const err = new Error(
        `chronicle exited during start-up (code=${exited.code}, signal=${exited.signal}` +
          `${exited.error ? `, error=${exited.error.message}` : ''})\n` +
          `command: ${bin} ${args.join(' ')}\n${logs()}`,
      );
      err.stderr = stderr;
      throw err;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exitPromise;
      await cleanupDir();
      throw new Error(
        `chronicle did not report healthy on ${url}/health within ${STARTUP_TIMEOUT_MS} ms ` +
          `(last: ${lastProblem})\ncommand: ${bin} ${args.join(' ')}\n${logs()}`,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      if (res.status === 200) {
        let body = null;
        try { body = JSON.parse(text); } catch { /* fall through */ }
        if (body && body.status === 'ok') break;
      }
      lastProblem = `HTTP ${res.status} ${text.slice(0, 200)}`;
    } catch (e) {
      lastProblem = e.message;
    }
    await sleep(100);
  }

  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    await cleanupDir();
  }

  return {
    url,
    port,
    dataDir,
    ...cfg,
    stop,
    logs,
    process: child,
  };
}

/**
 * Starts a server and waits until GET /health answers {"status":"ok"}.
 * Returns {url, appId, masterKey, javascriptKey, restAPIKey, stop(), logs()}.
 * A start-up failure caused by a port race is retried on another port.
 * `extraArgs` are more command-line options (e.g. `--fileUpload.enableForPublic`).
 */
async function startServer(extraArgs = []) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(extraArgs);
    } catch (e) {
      lastErr = e;
      if (!/address (already )?in use|EADDRINUSE/i.test(String(e.stderr || ''))) throw e;
    }
  }
  throw lastErr;
}

module.exports = { startServer, freePort, binaryPath };
