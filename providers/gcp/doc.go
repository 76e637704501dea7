// Package gcp obtains flux-mirror credentials from Google Application
// Default Credentials (ADC), for the credential.provider value "gcp" and the
// hosts[].provider value "gar".
//
// ADC is resolved the way Google's libraries do: the JSON file named by
// GOOGLE_APPLICATION_CREDENTIALS, else gcloud's well-known
// application_default_credentials.json, else the GCE/GKE metadata server
// (GCE_METADATA_HOST overrides its address).
//
//   - "gcp" (NewTokenFactory) mints a Google-signed OIDC ID token for the
//     audience: from the metadata server's identity endpoint, from the
//     token_uri of a service account key (a JWT assertion with
//     target_audience), or through IAM Credentials generateIdToken for
//     workload identity federation (external_account) and impersonated
//     service accounts.
//   - "gar" (NewRegistryFactory) obtains an OAuth2 access token with the
//     cloud-platform scope and returns it as the password of the username
//     oauth2accesstoken, for Artifact Registry (*-docker.pkg.dev) and
//     Container Registry (gcr.io).
//
// The package has no global state; it builds on cloud.google.com/go/auth and
// cloud.google.com/go/compute/metadata.
package gcp
