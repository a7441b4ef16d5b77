/**
 * The CA on gRPC: `istio.v1.auth.IstioCertificateService/CreateCertificate` handlers that the
 * control plane's server mounts on the xDS port:
 *
 * ```ts
 * server.addService(caServiceDefinition(), createCaServiceHandlers(ca));
 * ```
 *
 * Authentication (metadata keys in `CaMetadataKey` of `@weft/xds-client`): a renewal proof
 * (current chain + signature of the CSR by the current key) when present, else a join token in
 * `authorization: Bearer`. Status codes: UNAUTHENTICATED for missing/invalid credentials,
 * PERMISSION_DENIED for a CSR naming another identity, INVALID_ARGUMENT for a malformed CSR.
 */
import * as grpc from '@grpc/grpc-js';
import { CaMetadataKey, istioCertificateServiceDefinition, isMeshError, type IstioCertificateRequest, type IstioCertificateResponse } from '@weft/xds-client';
import { splitPemCertificates } from './chain-verify.ts';
import { pemToDer, type CertificateAuthority } from './certificate-authority.ts';

/** The service definition to pass to `server.addService`. */
export function caServiceDefinition(): grpc.ServiceDefinition {
  return istioCertificateServiceDefinition();
}

/** One decision of the CA service, for audit logs and metrics. */
export interface CaServiceEvent {
  outcome: 'issued' | 'refused';
  /** How the caller authenticated. */
  via: 'token' | 'certificate' | 'none';
  /** The identity issued or asked for, when known. */
  spiffeId?: string;
  /** gRPC status name of a refusal. */
  status?: string;
  /** Refusal message (the same the caller gets). */
  message?: string;
  /** Peer address as grpc-js reports it. */
  peer: string;
}

/** Options of {@link createCaServiceHandlers}. */
export interface CaServiceOptions {
  /** Called once per request with the decision; exceptions are ignored. */
  onEvent?: (event: CaServiceEvent) => void;
}

function firstValue(md: grpc.Metadata, key: string): string | Buffer | undefined {
  return md.get(key)[0];
}

/** The handlers of `IstioCertificateService` over `ca`. Stateless; one set can serve many servers. */
export function createCaServiceHandlers(ca: CertificateAuthority, options: CaServiceOptions = {}): grpc.UntypedServiceImplementation {
  const createCertificate: grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse> = (call, callback) => {
    let via: CaServiceEvent['via'] = 'none';
    let spiffeId: string | undefined;
    const refuse = (code: grpc.status, message: string): void => {
      try {
        options.onEvent?.({ outcome: 'refused', via, ...(spiffeId ? { spiffeId } : {}), status: grpc.status[code], message, peer: call.getPeer() });
      } catch { /* observer failures do not change the answer */ }
      callback({ code, details: message, metadata: new grpc.Metadata() });
    };
    const csrPem = call.request.csr ?? '';
    if (!csrPem.includes('CERTIFICATE REQUEST')) {
      refuse(grpc.status.INVALID_ARGUMENT, 'IstioCertificateRequest.csr must hold a PEM certificate request');
      return;
    }
    const chain = firstValue(call.metadata, CaMetadataKey.certChain);
    const signature = firstValue(call.metadata, CaMetadataKey.csrSignature);
    const authorization = firstValue(call.metadata, CaMetadataKey.authorization);
    try {
      if (chain !== undefined && signature !== undefined) {
        via = 'certificate';
        const chainPem = splitPemCertificates(Buffer.isBuffer(chain) ? chain.toString('utf8') : chain);
        spiffeId = ca.verifyRenewalProof(chainPem, pemToDer(csrPem), Buffer.isBuffer(signature) ? signature : Buffer.from(signature, 'base64'));
      } else if (typeof authorization === 'string' && /^Bearer\s+\S/i.test(authorization)) {
        via = 'token';
        spiffeId = ca.verifyJoinToken(authorization.replace(/^Bearer\s+/i, '')).spiffeId;
      } else {
        refuse(grpc.status.UNAUTHENTICATED,
          'no credentials: send "authorization: Bearer <join token>" (weft token create) for a first certificate, or renew with the current certificate');
        return;
      }
    } catch (err) {
      refuse(grpc.status.UNAUTHENTICATED, isMeshError(err) ? err.message : String(err));
      return;
    }
    try {
      const ttlSeconds = Number(call.request.validity_duration ?? 0);
      const issued = ca.issue(csrPem, { spiffeId, ...(ttlSeconds > 0 ? { ttlMs: ttlSeconds * 1000 } : {}) });
      const header = new grpc.Metadata();
      header.set(CaMetadataKey.trustBundle, Buffer.from(ca.trustBundlePem().join('')));
      call.sendMetadata(header);
      try {
        options.onEvent?.({ outcome: 'issued', via, spiffeId, peer: call.getPeer() });
      } catch { /* ignored */ }
      callback(null, { cert_chain: issued.certChainPem });
    } catch (err) {
      if (isMeshError(err) && err.details['reason'] === 'identity-mismatch') refuse(grpc.status.PERMISSION_DENIED, err.message);
      else if (isMeshError(err) && err.code === 'WEFT_ERR_CERT_INVALID') refuse(grpc.status.INVALID_ARGUMENT, err.message);
      else refuse(grpc.status.INTERNAL, `certificate signing failed: ${(err as Error).message}`);
    }
  };
  return { CreateCertificate: createCertificate as grpc.UntypedHandleCall };
}
