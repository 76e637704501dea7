// Package dockerconfig stores registry credentials in a Docker client
// configuration (config.json) exactly as `docker login` does, through
// docker/cli's own config and credential-store packages, so that docker,
// crane, Flux, helm and anything else reading the Docker config find them.
//
// Where a credential goes:
//
//   - A username/password credential goes through the credential store that
//     docker/cli selects for the host: the helper named in credHelpers[host],
//     else the credsStore helper, else — on a config that holds no
//     authentication yet, like docker's LoadDefaultConfigFile — the platform
//     helper auto-detected by credentials.DetectDefaultStore (on Linux:
//     docker-credential-pass when both `pass` and that helper are on PATH,
//     else docker-credential-secretservice when it is on PATH), else the
//     base64 "auth" entry in config.json.
//   - A bearer credential (no username) is written as "registrytoken" in
//     config.json, never to a helper: helpers only hold username/secret pairs.
//   - Save's plaintext flag forces the config.json entry for username/password
//     credentials too.
//
// Unlike docker/cli's ConfigFile.Save, which drops every field it does not
// know, Store keeps all other content of an existing config.json, unknown
// fields included, and writes it atomically (temporary file plus rename,
// keeping an existing file's mode; a new file gets mode 0600).
//
// Encode produces the .dockerconfigjson payload of a Kubernetes Secret from
// the same credentials.
package dockerconfig
