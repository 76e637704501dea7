// Package cosigntest is an offline, in-process Sigstore for tests: a
// Fulcio-like certificate authority, a certificate-transparency log and a
// Rekor-like transparency log, all with their own keys, that sign real
// Sigstore bundles at a chosen time.
//
// Bundles it produces are byte-for-byte what cosign v3 publishes (v0.3
// bundles holding a DSSE in-toto statement of predicate type
// https://sigstore.dev/cosign/sign/v1, or a message signature): a leaf
// certificate with a SAN and the Fulcio OIDC issuer extensions and an
// embedded SCT, and a Rekor v1 entry with a signed entry timestamp, an
// inclusion proof in a real Merkle tree and a signed checkpoint. They verify
// with sigstore-go against TrustedMaterial or the trusted_root.json from
// TrustedRootJSON, including for signing times in the past, which
// sigstore-go's own VirtualSigstore cannot produce.
//
// Attach pushes a bundle to an OCI registry as an OCI 1.1 referrer of a
// manifest, the way cosign does, maintaining the referrers tag-schema
// fallback index on registries without the referrers API.
//
// SignLegacy and AttachLegacy do the same for cosign's legacy tag scheme: a
// simple-signing payload signed by a Fulcio-like certificate (or a key) and
// logged in the Rekor-like log, pushed as a layer of the manifest tagged
// sha256-<hex>.sig with the signature, certificate, chain and Rekor bundle
// annotations cosign v1 and v2 write.
//
// Nothing here contacts the network except the registry given to Attach.
package cosigntest
