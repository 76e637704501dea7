// Package spiffetest is test support: a SPIFFE Workload API served over gRPC
// on a unix socket in a temporary directory, the way a SPIRE agent serves
// it, built only from go-spiffe's public protocol package.
//
// A WorkloadAPI owns a trust domain with an X.509 CA and a JWT signing key
// (and optionally federated trust domains with their own CAs). It hands the
// workload an X.509-SVID with its trust bundles over the FetchX509SVID
// stream, serves X.509 and JWT bundles, and signs ES256 JWT-SVIDs for the
// audiences requested from FetchJWTSVID. Tests rotate the SVID or the CA on
// demand (every open stream receives the update), issue server SVIDs for a
// registry, and verify JWT-SVIDs against JWTBundle or JWTKeySet. Fault knobs
// make every call fail with a gRPC status or serve raw, malformed answers.
//
// Like a SPIRE agent it refuses calls without the `workload.spiffe.io: true`
// metadata. It runs on the local machine only and holds all keys in memory.
package spiffetest
