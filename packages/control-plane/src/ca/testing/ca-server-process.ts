/**
 * Test fixture: a CA serving CreateCertificate on 127.0.0.1 (port 0) in its own process.
 * Environment: `CA_DIR` (required), `TRUST_DOMAIN` (optional). Prints one JSON line
 * `{ "port", "rootFingerprint" }` on stdout when listening; exits when stdin closes.
 */
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority } from '../certificate-authority.ts';
import { caServiceDefinition, createCaServiceHandlers } from '../ca-service.ts';

const caDir = process.env['CA_DIR'];
if (!caDir) throw new Error('CA_DIR is required');
const ca = createCertificateAuthority({ caDir, trustDomain: process.env['TRUST_DOMAIN'] ?? 'cluster.local' });
const server = new grpc.Server();
server.addService(caServiceDefinition(), createCaServiceHandlers(ca));
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ port, rootFingerprint: new X509Certificate(ca.rootCertPem()).fingerprint256 })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => server.tryShutdown(() => process.exit(0)));
