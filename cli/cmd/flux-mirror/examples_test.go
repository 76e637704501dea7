package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examplesDir is the repository's examples folder, whose README shows the
// command that validates each example.
var examplesDir = filepath.Join("..", "..", "..", "examples")

// shellCommands returns the commands of the ```sh blocks of a Markdown
// document, one per line; a line ending in a backslash continues on the
// next, and blank lines and # comments are skipped.
func shellCommands(markdown string) []string {
	var (
		cmds    []string
		inSh    bool
		inFence bool
		pending string
	)
	sc := bufio.NewScanner(strings.NewReader(markdown))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if inFence {
				inFence, inSh = false, false
				pending = ""
				continue
			}
			inFence = true
			inSh = strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "sh"
			continue
		}
		if !inSh || (pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#"))) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			pending += strings.TrimSpace(cont) + " "
			continue
		}
		cmds = append(cmds, pending+trimmed)
		pending = ""
	}
	return cmds
}

func TestShellCommands(t *testing.T) {
	tests := []struct {
		name     string
		markdown string
		want     []string
	}{
		{
			name:     "one command",
			markdown: "text\n```sh\nflux-mirror validate a.yaml\n```\n",
			want:     []string{"flux-mirror validate a.yaml"},
		},
		{
			name:     "comments and blank lines are skipped",
			markdown: "```sh\n# check it\n\nflux-mirror validate a.yaml\n  \n```\n",
			want:     []string{"flux-mirror validate a.yaml"},
		},
		{
			name:     "continuation lines join",
			markdown: "```sh\nA=1 \\\n  flux-mirror validate \\\n  a.yaml\nflux-mirror validate b.yaml\n```\n",
			want:     []string{"A=1 flux-mirror validate a.yaml", "flux-mirror validate b.yaml"},
		},
		{
			name:     "other blocks are ignored",
			markdown: "```yaml\n# want: x\nkind: Config\n```\n```\nflux-mirror sync\n```\n```sh\nflux-mirror validate c.yaml\n```\n",
			want:     []string{"flux-mirror validate c.yaml"},
		},
		{
			name:     "no blocks",
			markdown: "flux-mirror validate a.yaml\n",
			want:     nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellCommands(tt.markdown); !slices.Equal(got, tt.want) {
				t.Errorf("shellCommands() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExamplesReadmeCommands runs every command examples/README.md shows,
// exactly as written, in a shell in the examples folder with the real
// binary and an otherwise empty environment: each must exit 0. Every
// examples/*.yaml must be named by one of them, so no example is called
// valid without the command that proves it.
func TestExamplesReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(examplesDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := shellCommands(string(readme))
	if len(cmds) == 0 {
		t.Fatal("examples/README.md shows no command in a ```sh block")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("a POSIX shell is needed to run the README's commands: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.yaml in %s", examplesDir)
	}

	covered := map[string]bool{}
	for _, cmd := range cmds {
		for _, word := range strings.Fields(cmd) {
			covered[filepath.Clean(word)] = true
		}
	}
	for _, f := range files {
		if name := filepath.Base(f); !covered[name] {
			t.Errorf("examples/%s is not validated by any command in examples/README.md; add one under its description", name)
		}
	}

	for _, cmd := range cmds {
		t.Run(cmd, func(t *testing.T) {
			if !strings.Contains(cmd, "flux-mirror validate ") {
				t.Fatalf("examples/README.md shows %q; only flux-mirror validate commands run offline, so only they belong in its sh blocks", cmd)
			}
			c := exec.Command(sh, "-c", cmd)
			c.Dir = examplesDir
			// Nothing from the developer's or CI's environment (a GH_TOKEN,
			// a FLUX_MIRROR_CONFIG) may make a command pass here that fails
			// for a reader.
			c.Env = []string{
				"PATH=" + binDir + string(os.PathListSeparator) + filepath.Dir(sh),
				"HOME=" + t.TempDir(),
			}
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			if !strings.Contains(string(out), "is valid") {
				t.Errorf("%s printed no validation summary:\n%s", cmd, out)
			}
		})
	}
}
