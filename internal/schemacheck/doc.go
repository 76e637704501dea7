// Package schemacheck holds no code: its test keeps the published Config
// JSON Schemas (config-v1beta1.json, config-v1beta2.json) and the binary's
// loader in agreement.
//
// The test runs a corpus of configs (testdata/valid, testdata/invalid,
// testdata/v1beta2/valid, testdata/v1beta2/invalid and the repository's
// examples/ and examples/invalid/) through both the real loader
// (adapters/configfile Load, with substitution, strict decoding,
// validation and path confinement) and a real JSON Schema validator
// (santhosh-tekuri/jsonschema/v6, draft 2020-12) with the schema of the
// config's apiVersion, and fails on every config one accepts and the other
// rejects. It also converts every valid v1beta1 config with the real
// flux-mirror convert (built from cli/) and checks that the output loads
// and is valid under the v1beta2 schema.
//
// Some rules cannot be expressed in JSON Schema; configs that break only
// such a rule are listed, with the reason, in the test's goOnly allow-list
// (the schema accepts them, the loader rejects them), and the list is kept
// exact: an entry the schema rejects too is an error. They are:
//
//   - semver ranges and regular expressions that must parse or compile;
//   - references of regex.extract to the pattern's capture groups;
//   - uniqueness across entries (hosts, with Docker Hub's names as one
//     host; destination repositories) and a destination equal to its
//     source, also through Docker Hub's normalisation;
//   - the command-dependent "at least one artifacts or charts entry";
//   - path confinement, which needs the file system;
//   - a v1beta2 credential.envelope, a Go template that must parse and run.
//
// Configs whose rule the CLI checks and core does not (provider names
// against the factories of the build; one audience for a provider's
// token) are listed in cliOnly: the loader accepts them, the schema
// rejects them.
//
// Configs that fail before there is a document to validate (YAML syntax,
// duplicate keys, several documents, an empty file, ${VAR} substitution)
// are listed in loaderOnly.
//
// This is a test-only module, so the schema validator never becomes a
// dependency of the binary.
package schemacheck
