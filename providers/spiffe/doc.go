// Package spiffe connects flux-mirror to the SPIFFE Workload API (served by
// a SPIRE agent, or any other implementation) for the two SPIFFE features of
// a Config:
//
//   - the "jwt-svid" credential provider (hosts[].credential.provider),
//     whose token source fetches a JWT-SVID for the registry's audience at
//     every mint (NewTokenFactory);
//   - the X.509-SVID transport (hosts[].tls.clientAuth.provider: x509-svid
//     and hosts[].tls.serverAuth.spiffe), for which X509Source keeps the
//     workload's X.509-SVID and trust bundles current from the Workload API
//     stream (NewX509Source, X509Factory).
//
// The Workload API address comes from SPIFFE_ENDPOINT_SOCKET (e.g.
// unix:///run/spire/sockets/agent.sock) unless WithAddr sets it. The package
// keeps no global state; the CLI holds the factories. Errors name the
// provider and the address, never a token.
//
// Test support, a fake Workload API on a unix socket, is in spiffetest.
package spiffe
