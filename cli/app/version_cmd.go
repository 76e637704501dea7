package app

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// version is set at build time with
// -ldflags "-X github.com/fluxcd/flux-mirror/cli/app.version=v1.2.3".
var version = ""

// Version returns flux-mirror's version: the linker-set value, else the
// module version recorded in the build info, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// BuildInfo is what `flux-mirror version` prints.
type BuildInfo struct {
	Version   string   `json:"version"`
	GoVersion string   `json:"goVersion"`
	Platform  string   `json:"platform"`
	Providers []string `json:"providers"`
	// Parts are the optional parts compiled in: secret (the secret
	// command) and verify (cosign signature verification).
	Parts []string `json:"parts"`
	// Omitted are the providers this build left out.
	Omitted []string `json:"omittedProviders,omitempty"`
	// OmittedParts are the optional parts this build left out.
	OmittedParts []string `json:"omittedParts,omitempty"`
}

type versionCmd struct {
	Output string `short:"o" enum:"text,yaml,json" default:"text" help:"Output format: text, yaml or json."`
}

func (c *versionCmd) Run(e *env) error {
	info := e.buildInfo()
	switch c.Output {
	case "json":
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, string(b))
	case "yaml":
		b, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		fmt.Fprint(e.Stdout, string(b))
	default:
		e.writeVersionText(e.Stdout)
	}
	return nil
}

// writeVersionText prints the text form of the build info, as `version` and
// `--version` show it.
func (e *env) writeVersionText(w io.Writer) {
	info := e.buildInfo()
	fmt.Fprintf(w, "flux-mirror %s\ngo: %s %s\nproviders: %s\nparts: %s\n", info.Version, info.GoVersion, info.Platform, strings.Join(info.Providers, ", "), strings.Join(info.Parts, ", "))
	if omitted := append(slices.Clone(info.Omitted), info.OmittedParts...); len(omitted) > 0 {
		fmt.Fprintf(w, "omitted: %s\n", strings.Join(omitted, ", "))
	}
}

func (e *env) buildInfo() BuildInfo {
	info := BuildInfo{
		Version:   Version(),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Providers: []string{},
		Parts:     []string{},
	}
	info.Providers = append(info.Providers, e.providerNames()...)
	if e.Secret != nil {
		info.Parts = append(info.Parts, partSecret)
	}
	if e.Verify != nil {
		info.Parts = append(info.Parts, partVerify)
	}
	info.Omitted = e.omittedNames(true)
	info.OmittedParts = e.omittedOf(0)
	slices.Sort(info.Providers)
	slices.Sort(info.Omitted)
	return info
}
