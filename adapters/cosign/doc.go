// Package cosign implements core's mirror.Verifier for Cosign keyless
// signatures on sigstore-go.
//
// A signature is a Sigstore bundle attached to the artifact's manifest as an
// OCI 1.1 referrer, as cosign v3 (and v2.4+ with --new-bundle-format)
// publishes it. The verifier lists the manifest's referrers (through the
// referrers API or the tag-schema fallback, whichever the Reader
// implements), reads each bundle, and verifies it with sigstore-go against
// a trusted root: the Fulcio certificate chain at the Rekor integrated
// time, the embedded SCT when the trusted root lists CT logs, the Rekor
// entry (signed entry timestamp and inclusion proof), and the signature
// over the manifest digest. The certificate's OIDC issuer and subject
// alternative name must match one of the policy's identities.
//
// When no bundle referrer verifies, the verifier falls back to cosign's
// legacy tag scheme: the manifest tagged sha256-<hex>.sig whose
// simple-signing layers carry the signature, Fulcio certificate and Rekor
// signed entry timestamp in annotations (cosign v1 and v2 by default). Each
// is converted to a Sigstore v0.1 bundle and verified by the same code and
// policy; the signed payload must name the manifest digest. Key-based
// signatures are rejected: only keyless signatures are verified.
//
// The trusted root is the Sigstore public-good instance, fetched and
// cached through TUF, unless Options give a TrustedRoot or a local
// trusted_root.json. It is loaded on first use, never at construction.
package cosign
