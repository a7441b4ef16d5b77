/**
 * The small part of node-forge's API that the CA uses, typed by hand (the repository does not
 * ship `@types/node-forge`). Byte strings are forge's "binary strings": one char per byte.
 */
declare module 'node-forge' {
  namespace forge {
    interface ByteBuffer {
      getBytes(count?: number): string;
      toHex(): string;
      length(): number;
    }
    namespace asn1 {
      interface Asn1 {
        tagClass: number;
        type: number;
        constructed: boolean;
        value: Asn1[] | string;
      }
      const Class: { UNIVERSAL: number; CONTEXT_SPECIFIC: number };
      const Type: { SEQUENCE: number; SET: number; OID: number; BITSTRING: number; OCTETSTRING: number; NULL: number; INTEGER: number; BOOLEAN: number };
      function create(tagClass: number, type: number, constructed: boolean, value: Asn1[] | string): Asn1;
      function oidToDer(oid: string): ByteBuffer;
      function derToOid(bytes: string): string;
      function toDer(obj: Asn1): ByteBuffer;
      function fromDer(bytes: string | ByteBuffer, options?: boolean | { strict?: boolean; parseAllBytes?: boolean; decodeBitStrings?: boolean }): Asn1;
    }
    namespace md {
      interface MessageDigest {
        algorithm: string;
        update(bytes: string, encoding?: string): MessageDigest;
        digest(): ByteBuffer;
      }
      namespace sha256 {
        function create(): MessageDigest;
      }
    }
    namespace util {
      function bytesToHex(bytes: string): string;
      function hexToBytes(hex: string): string;
    }
    namespace pki {
      interface PublicKey {
        n: unknown;
        e: unknown;
        verify(digest: string, signature: string): boolean;
      }
      interface PrivateKey {
        sign(md: md.MessageDigest): string;
      }
      interface CertificateField {
        name?: string;
        shortName?: string;
        type?: string;
        value?: string;
        valueTagClass?: number;
      }
      interface AltName {
        type: number;
        value?: string;
        ip?: string;
      }
      interface Extension {
        name?: string;
        id?: string;
        critical?: boolean;
        altNames?: AltName[];
        [key: string]: unknown;
      }
      interface DistinguishedName {
        attributes: CertificateField[];
        hash: string | null;
        getField(sn: string): CertificateField | null;
      }
      interface Certificate {
        version: number;
        serialNumber: string;
        signatureOid: string | null;
        signature: string;
        siginfo: { algorithmOid: string | null };
        md: md.MessageDigest | null;
        validity: { notBefore: Date; notAfter: Date };
        issuer: DistinguishedName;
        subject: DistinguishedName;
        extensions: Extension[];
        publicKey: PublicKey;
        setSubject(attrs: CertificateField[], uniqueId?: string): void;
        setIssuer(attrs: CertificateField[], uniqueId?: string): void;
        setExtensions(exts: Extension[]): void;
        getExtension(options: string | { name: string }): Extension | null;
        sign(key: PrivateKey, md?: md.MessageDigest): void;
        generateSubjectKeyIdentifier(): ByteBuffer;
      }
      interface CertificationRequest {
        publicKey: PublicKey | null;
        subject: DistinguishedName;
        signatureOid: string | null;
        verify(): boolean;
        getAttribute(options: { name: string }): { extensions?: Extension[] } | null;
      }
      const oids: Record<string, string>;
      function createCertificate(): Certificate;
      function certificateFromPem(pem: string): Certificate;
      function certificateToPem(cert: Certificate): string;
      function certificationRequestFromPem(pem: string, computeHash?: boolean, strict?: boolean): CertificationRequest;
      function privateKeyFromPem(pem: string): PrivateKey;
      function publicKeyFromPem(pem: string): PublicKey;
      function publicKeyToPem(key: PublicKey): string;
      function getTBSCertificate(cert: Certificate): asn1.Asn1;
    }
  }
  export default forge;
}
