package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binDir holds the flux-mirror binary built once for these tests.
var binDir string

// TestMain builds the real binary: these tests run it as users and shells do.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flux-mirror-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "flux-mirror"), ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("build flux-mirror: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestBinaryVersionJSON(t *testing.T) {
	out, err := exec.Command(filepath.Join(binDir, "flux-mirror"), "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Version   string   `json:"version"`
		GoVersion string   `json:"goVersion"`
		Providers []string `json:"providers"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	if info.Version == "" || !strings.HasPrefix(info.GoVersion, "go1.") || len(info.Providers) == 0 {
		t.Errorf("version info %+v", info)
	}
}

// TestBashCompletion sources the bash script in a real bash and completes
// through the binary's __complete, as `flux mirror <TAB>` does.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	tests := []struct {
		words string
		cword int
		want  string
	}{
		{words: "flux-mirror sy", cword: 1, want: "sync"},
		{words: "flux-mirror sync --dry", cword: 2, want: "--dry-run"},
		{words: "flux-mirror version -o y", cword: 3, want: "yaml"},
		{words: "flux-mirror completion po", cword: 2, want: "powershell"},
	}
	for _, tt := range tests {
		t.Run(tt.words, func(t *testing.T) {
			script := `source <(flux-mirror completion bash)
COMP_WORDS=(` + tt.words + `); COMP_CWORD=` + itoa(tt.cword) + `
_flux_mirror_complete
printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command(bash, "--noprofile", "--norc", "-c", script)
			cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("COMPREPLY = %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
