// Package configfile loads flux-mirror config files: it reads a file (or
// stdin), substitutes ${VAR} from the environment, parses the single YAML
// document, decodes it strictly into a config.Config, validates it for the
// command's purpose, and resolves the file paths it references
// (credential fromPath and jwkPath, the TLS fromPaths) against the config's
// directory, refusing any that escape it.
//
// Every error is prefixed with the file name and, for a problem in the
// config, the field path: `flux-mirror.yaml: hosts[0] "r.example":
// credential.fromPath: "../x" escapes the config directory /a/b; keep
// referenced files under it`.
package configfile
