// Package aws obtains flux-mirror credentials from the ambient AWS identity,
// for the credential.provider value "aws" and the hosts[].provider value
// "ecr".
//
// Both resolve credentials through the AWS SDK's default chain: environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), shared
// config and credentials files (AWS_PROFILE, SSO, credential_process), web
// identity (IRSA / EKS Pod Identity through AWS_WEB_IDENTITY_TOKEN_FILE and
// AWS_ROLE_ARN, or AWS_CONTAINER_CREDENTIALS_FULL_URI), and the EC2 instance
// metadata service.
//
//   - "aws" (NewTokenFactory) mints no JWT, because AWS issues none: it signs
//     an sts:GetCallerIdentity request with SigV4, with the audience in a
//     signed X-Audience header, and wraps the signed request in a
//     JWT-shaped Envelope that a registry verifies by replaying it to STS.
//     ParseEnvelope and Envelope.Request are the registry's side.
//   - "ecr" (NewRegistryFactory) calls ECR GetAuthorizationToken in the
//     region named by the registry host and returns the username AWS and the
//     registry password.
//
// The package has no global state; every factory call builds its own SDK
// configuration.
package aws
