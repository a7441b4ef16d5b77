/**
 * Container health check for the example services: `healthcheck.ts <port> [path]` exits 0 when
 * `GET http://127.0.0.1:<port><path>` answers 2xx, or, without a path, when the port accepts a
 * TCP connection (gRPC servers). Used by examples/docker-compose.yml.
 */
import { connect } from 'node:net';

const [portArg, path] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port)) {
  console.error('usage: healthcheck.ts <port> [path]');
  process.exit(2);
}
if (path) {
  fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) }).then(
    (res) => process.exit(res.ok ? 0 : 1),
    () => process.exit(1),
  );
} else {
  const socket = connect(port, '127.0.0.1');
  socket.setTimeout(2000, () => process.exit(1));
  socket.on('connect', () => process.exit(0)).on('error', () => process.exit(1));
}
