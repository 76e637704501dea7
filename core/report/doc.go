// Package report defines the Report that flux-mirror sync produces: the
// mirror.plugin.fluxcd.io/v1beta1 Report document printed by `-o json|yaml`,
// its summary and semantic exit code, the text rendering shown to people,
// and the JSON Schema published for it (report-v1beta1.json).
//
// The types here are plain values: the sync engine (package mirror) fills
// them in and the CLI prints them. Nothing in this package performs I/O
// other than writing to the io.Writer it is given.
package report
