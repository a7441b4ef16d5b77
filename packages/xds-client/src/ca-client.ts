/**
 * Istio's certificate service, `istio.v1.auth.IstioCertificateService/CreateCertificate`
 * (CSR in, chain out), on both ends: the message types and gRPC service definition shared by
 * the control plane's CA server and this package's client, and the grpc-js client that
 * implements `@weft/core`'s `CertificateSigner` (core never imports grpc-js).
 *
 * Messages are defined with protobufjs reflection, field numbers as in Istio's
 * `security/v1alpha1/ca.proto`: request `csr = 1` (string), `validity_duration = 3` (int64
 * seconds), `metadata = 4` (google.protobuf.Struct); response `cert_chain = 1` (repeated string).
 *
 * Authentication travels as gRPC metadata (see {@link CaMetadataKey}): a join token as
 * `authorization: Bearer <token>` for a first certificate; for a renewal, the current chain and
 * the SHA-256 signature of the new CSR's DER by the current key.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { MeshError } from './errors.ts';

/** `istio.v1.auth.IstioCertificateRequest` as a plain object. */
export interface IstioCertificateRequest {
  /** PEM PKCS#10 request. */
  csr?: string;
  /** Requested lifetime in seconds. */
  validity_duration?: number;
  /** Opaque node metadata (`google.protobuf.Struct` in object form). */
  metadata?: { fields?: Record<string, unknown> };
}

/** `istio.v1.auth.IstioCertificateResponse` as a plain object. */
export interface IstioCertificateResponse {
  /** Leaf first, root last. */
  cert_chain?: string[];
}

/** gRPC metadata keys of the CA protocol. */
export const CaMetadataKey = {
  /** `Bearer <join token>`, first certificate. */
  authorization: 'authorization',
  /** Renewal: the caller's current chain, PEM text (binary header). */
  certChain: 'weft-cert-chain-bin',
  /** Renewal: signature of the CSR's DER bytes by the current key (binary header). */
  csrSignature: 'weft-csr-signature-bin',
  /** Response header: the CA's trust bundle, PEM text (binary header). */
  trustBundle: 'weft-trust-bundle-bin',
} as const;

/** Full method path. */
export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

let cachedTypes: { request: protobuf.Type; response: protobuf.Type } | undefined;

function caTypes(): { request: protobuf.Type; response: protobuf.Type } {
  if (cachedTypes) return cachedTypes;
  const root = protobuf.Root.fromJSON((protobuf.common as unknown as { get(name: string): protobuf.INamespace }).get('google/protobuf/struct.proto'));
  const request = new protobuf.Type('IstioCertificateRequest')
    .add(new protobuf.Field('csr', 1, 'string'))
    .add(new protobuf.Field('validity_duration', 3, 'int64'))
    .add(new protobuf.Field('metadata', 4, 'google.protobuf.Struct'));
  const response = new protobuf.Type('IstioCertificateResponse').add(new protobuf.Field('cert_chain', 1, 'string', 'repeated'));
  root.define('istio.v1.auth').add(request).add(response);
  root.resolveAll();
  cachedTypes = { request, response };
  return cachedTypes;
}

const CONVERSION: protobuf.IConversionOptions = { longs: Number, defaults: false };

function codec<T>(type: protobuf.Type): { serialize(v: T): Buffer; deserialize(b: Buffer): T } {
  return {
    serialize: (v) => Buffer.from(type.encode(type.fromObject(v as object)).finish()),
    deserialize: (b) => type.toObject(type.decode(b), CONVERSION) as T,
  };
}

let cachedDefinition: grpc.ServiceDefinition | undefined;

/** The grpc-js definition of `IstioCertificateService` (one unary method, `CreateCertificate`). */
export function istioCertificateServiceDefinition(): grpc.ServiceDefinition {
  if (cachedDefinition) return cachedDefinition;
  const { request, response } = caTypes();
  const req = codec<IstioCertificateRequest>(request);
  const res = codec<IstioCertificateResponse>(response);
  cachedDefinition = {
    CreateCertificate: {
      path: CREATE_CERTIFICATE_PATH,
      requestStream: false,
      responseStream: false,
      originalName: 'CreateCertificate',
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
    },
  } as grpc.ServiceDefinition;
  return cachedDefinition;
}

/** Structurally `@weft/core`'s `CertificateSigningRequest`. */
export interface CaSigningRequest {
  csrPem: string;
  validitySeconds: number;
  credentials: { kind: 'token'; token: string } | { kind: 'certificate'; certChainPem: string[]; csrSignature: Buffer };
  signal?: AbortSignal;
}

/** Options of {@link createGrpcCertificateSigner}. */
export interface GrpcCertificateSignerOptions {
  /** CA address `host:port` (the control plane's xDS port). */
  address: string;
  /** Channel credentials; insecure by default (the xDS port is plaintext unless fronted by TLS). */
  channelCredentials?: grpc.ChannelCredentials;
  /** Deadline of one call; 10 s by default. */
  timeoutMs?: number;
}

/** A `CertificateSigner` over gRPC; `close()` closes the channel. */
export interface GrpcCertificateSigner {
  /**
   * Sends one CreateCertificate call. Rejects with `WEFT_ERR_UNAUTHORIZED` when the CA answers
   * UNAUTHENTICATED or PERMISSION_DENIED, `WEFT_ERR_CERT_INVALID` for INVALID_ARGUMENT, and
   * `WEFT_ERR_CERT_UNAVAILABLE` otherwise (unreachable, deadline, internal, cancelled by
   * `request.signal`); the CA's message is kept. An already aborted signal rejects with its reason.
   */
  sign(request: CaSigningRequest): Promise<{ certChainPem: string[]; trustBundlePem?: string[] }>;
  close(): void;
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** Creates the gRPC signer; the channel connects lazily on the first call. */
export function createGrpcCertificateSigner(options: GrpcCertificateSignerOptions): GrpcCertificateSigner {
  const Client = grpc.makeGenericClientConstructor(istioCertificateServiceDefinition(), 'IstioCertificateService');
  const client = new Client(options.address, options.channelCredentials ?? grpc.credentials.createInsecure());
  const timeoutMs = options.timeoutMs ?? 10_000;
  let isClosed = false;
  return {
    sign(request) {
      if (isClosed) return Promise.reject(new MeshError('WEFT_ERR_CLOSED', 'certificate signer is closed'));
      if (request.signal?.aborted) return Promise.reject(request.signal.reason);
      const md = new grpc.Metadata();
      if (request.credentials.kind === 'token') {
        md.set(CaMetadataKey.authorization, `Bearer ${request.credentials.token}`);
      } else {
        md.set(CaMetadataKey.certChain, Buffer.from(request.credentials.certChainPem.join('')));
        md.set(CaMetadataKey.csrSignature, request.credentials.csrSignature);
      }
      return new Promise((resolve, reject) => {
        let trustBundlePem: string[] | undefined;
        const call = (client as unknown as {
          CreateCertificate(req: IstioCertificateRequest, md: grpc.Metadata, opts: grpc.CallOptions,
            cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void): grpc.ClientUnaryCall;
        }).CreateCertificate(
          { csr: request.csrPem, validity_duration: request.validitySeconds },
          md,
          { deadline: Date.now() + timeoutMs },
          (err, res) => {
            request.signal?.removeEventListener('abort', onAbort);
            if (err) {
              const code = err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED
                ? 'WEFT_ERR_UNAUTHORIZED'
                : err.code === grpc.status.INVALID_ARGUMENT ? 'WEFT_ERR_CERT_INVALID' : 'WEFT_ERR_CERT_UNAVAILABLE';
              reject(new MeshError(code, `CA at ${options.address} refused CreateCertificate (${grpc.status[err.code]}): ${err.details}`, {
                cause: err, details: { grpcCode: err.code, address: options.address },
              }));
              return;
            }
            const chain = res?.cert_chain ?? [];
            if (chain.length === 0) {
              reject(new MeshError('WEFT_ERR_CERT_UNAVAILABLE', `CA at ${options.address} returned an empty certificate chain`));
              return;
            }
            resolve(trustBundlePem === undefined ? { certChainPem: chain } : { certChainPem: chain, trustBundlePem });
          },
        );
        call.on('metadata', (header: grpc.Metadata) => {
          const bundle = header.get(CaMetadataKey.trustBundle)[0];
          if (bundle !== undefined) trustBundlePem = splitPem(Buffer.isBuffer(bundle) ? bundle.toString('utf8') : bundle);
        });
        const onAbort = (): void => call.cancel();
        request.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      client.close();
    },
  };
}
