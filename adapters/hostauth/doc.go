// Package hostauth builds what a configured registry host needs to be
// reached: its HTTP-layer credential (an auth.Source) and its transport TLS
// (a *tls.Config), from the hosts section of a flux-mirror Config.
//
// Credential sources:
//
//   - value: the configured string, as-is.
//   - fromPath: the file, re-read and whitespace-trimmed on every call, so
//     a token can be rotated without a restart.
//   - jwkPath / jwkValue: a JWT signed with a private JSON Web Key (Ed25519,
//     ECDSA P-256/P-384/P-521 or RSA), with iss, sub, aud (default: the
//     host), iat, nbf, exp (default 60s) and a random jti. Tokens living 2
//     minutes or longer are cached and re-minted at half their lifetime;
//     shorter ones are minted per call. jwkPath is read at construction and
//     re-read whenever the file's size or modification time changes.
//   - provider: a token minted for the audience by a TokenProvider factory
//     from Deps, cached until shortly before it expires; concurrent callers
//     share one mint.
//   - hosts[].provider: a cloud registry's native credential from a
//     RegistryProvider factory, cached the same way.
//
// TLS: a custom CA bundle or the system pool verifies the server, or SPIFFE
// (an X.509-SVID authorized by ID, trust domain or any); a static
// certificate and key, or a SPIFFE X.509-SVID, authenticates the client. The
// SPIFFE material comes through the SPIFFESource port that the spiffe
// provider module implements.
//
// GenerateKeyPair writes the Ed25519 JWK key pair that flux-mirror keygen
// produces, and Resolve mints every selected host's credential once, for
// login and secret.
//
// Files: every file a host names is read through os.Root inside Deps.Root
// (the config's directory), at the moment of each read, so a file swapped
// for a symlink that leaves it while flux-mirror runs is refused, naming
// the field and the path; a missing file is a permanent error.
//
// Errors returned while building a source or a TLS config name the field
// relative to the host (for example "credential.jwkValue: …"); callers
// prefix them with the host's position, as NewSources does. No error or log
// line ever contains a token, a password or key material.
package hostauth
