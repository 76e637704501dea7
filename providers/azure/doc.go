// Package azure obtains flux-mirror credentials from the ambient Microsoft
// Entra ID identity, for the credential.provider value "azure" and the
// hosts[].provider value "acr".
//
// Both use azidentity's DefaultAzureCredential chain: environment
// credentials (AZURE_TENANT_ID, AZURE_CLIENT_ID with AZURE_CLIENT_SECRET or
// AZURE_CLIENT_CERTIFICATE_PATH), workload identity
// (AZURE_FEDERATED_TOKEN_FILE, as set by the AKS webhook or CI), managed
// identity, then the Azure CLI, Azure Developer CLI and Azure PowerShell.
//
//   - "azure" (NewTokenFactory) returns an Entra access token for the scope
//     "<aud>/.default".
//   - "acr" (NewRegistryFactory) gets an Entra access token for Azure
//     Container Registry and exchanges it at https://<registry>/oauth2/exchange
//     for an ACR refresh token, the password of the username
//     00000000-0000-0000-0000-000000000000.
//
// The package has no global state.
package azure
