/**
 * The seam between the SDK's identity logic and the transport that reaches a CA. Core never
 * imports grpc-js; `@weft/xds-client` provides the gRPC implementation
 * (`createGrpcCertificateSigner`, Istio's `CreateCertificate`), tests may provide any other.
 */

/** How the caller proves it is entitled to the identity in the CSR. */
export type SignerCredentials =
  /** First certificate: a join token (`weft token create`), sent as `authorization: Bearer`. */
  | { kind: 'token'; token: string }
  /**
   * Renewal: the current chain plus the SHA-256 signature of the new CSR's DER bytes by the
   * current private key (proves possession of the key the current certificate certifies).
   */
  | { kind: 'certificate'; certChainPem: string[]; csrSignature: Buffer };

/** One signing request. */
export interface CertificateSigningRequest {
  /** PEM PKCS#10 request. */
  csrPem: string;
  /** Requested certificate lifetime in whole seconds (the CA may shorten it). */
  validitySeconds: number;
  /** Proof of entitlement. */
  credentials: SignerCredentials;
  /** Aborts the call; the promise then rejects. */
  signal?: AbortSignal;
}

/** The CA's answer. */
export interface SignedCertificateChain {
  /** Leaf first, the root last (Istio's `cert_chain`). */
  certChainPem: string[];
  /** Every root to trust (current and retired roots in overlap), when the CA says; else the chain's root. */
  trustBundlePem?: string[];
}

/**
 * Something that turns a CSR into a certificate chain. Rejects with a MeshError:
 * `WEFT_ERR_UNAUTHORIZED` when the CA refuses the credentials or the identity,
 * `WEFT_ERR_CERT_UNAVAILABLE` when the CA cannot be reached or fails.
 */
export interface CertificateSigner {
  sign(request: CertificateSigningRequest): Promise<SignedCertificateChain>;
  /** Releases the transport; idempotent. Optional. */
  close?(): void;
}
