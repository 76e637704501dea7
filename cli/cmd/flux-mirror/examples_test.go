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

// shellBlocks returns the ```sh blocks of a Markdown document, each as
// its commands, one per line: a line ending in a backslash continues on
// the next, and blank lines and # comments are skipped.
func shellBlocks(markdown string) [][]string {
	var (
		blocks  [][]string
		cmds    []string
		inSh    bool
		inFence bool
		pending string
	)
	sc := bufio.NewScanner(strings.NewReader(markdown))
	for sc.Scan() {
		trimmed := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(trimmed, "```") {
			if inFence {
				if inSh && len(cmds) > 0 {
					blocks = append(blocks, cmds)
				}
				inFence, inSh, cmds, pending = false, false, nil, ""
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
	return blocks
}

func TestShellBlocks(t *testing.T) {
	tests := []struct {
		name     string
		markdown string
		want     [][]string
	}{
		{
			name:     "one command",
			markdown: "text\n```sh\nflux-mirror validate a.yaml\n```\n",
			want:     [][]string{{"flux-mirror validate a.yaml"}},
		},
		{
			name:     "comments and blank lines are skipped",
			markdown: "```sh\n# check it\n\nflux-mirror validate a.yaml\n  \n```\n",
			want:     [][]string{{"flux-mirror validate a.yaml"}},
		},
		{
			name:     "continuation lines join",
			markdown: "```sh\nA=1 \\\n  flux-mirror validate \\\n  a.yaml\nflux-mirror validate b.yaml\n```\n",
			want:     [][]string{{"A=1 flux-mirror validate a.yaml", "flux-mirror validate b.yaml"}},
		},
		{
			name:     "blocks stay apart",
			markdown: "```sh\nflux-mirror keygen -o keys\nflux-mirror validate a.yaml\n```\nand\n```sh\nflux-mirror validate b.yaml\n```\n",
			want:     [][]string{{"flux-mirror keygen -o keys", "flux-mirror validate a.yaml"}, {"flux-mirror validate b.yaml"}},
		},
		{
			name:     "other blocks are ignored",
			markdown: "```yaml\n# want: x\nkind: Config\n```\n```\nflux-mirror sync\n```\n```sh\nflux-mirror validate c.yaml\n```\n",
			want:     [][]string{{"flux-mirror validate c.yaml"}},
		},
		{
			name:     "no blocks",
			markdown: "flux-mirror validate a.yaml\n",
			want:     nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shellBlocks(tt.markdown)
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("shellBlocks() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExamplesReadmeCommands runs every sh block of examples/README.md,
// exactly as written, as one script in a fresh copy of the examples, with
// the real binary and no environment beyond PATH and HOME: each must exit
// 0 and end in a flux-mirror validate. Every examples/*.yaml must be named
// by one, so no example is called valid without the command that proves it.
func TestExamplesReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(examplesDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shellBlocks(string(readme))
	if len(blocks) == 0 {
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
	for _, cmds := range blocks {
		for _, word := range strings.Fields(cmds[len(cmds)-1]) {
			covered[filepath.Clean(word)] = true
		}
	}
	for _, f := range files {
		if name := filepath.Base(f); !covered[name] {
			t.Errorf("examples/%s is not validated by any block in examples/README.md; add one under its description", name)
		}
	}

	for _, cmds := range blocks {
		last := cmds[len(cmds)-1]
		t.Run(last, func(t *testing.T) {
			if !strings.Contains(last, "flux-mirror validate ") {
				t.Fatalf("a block of examples/README.md ends in %q; each must end in the flux-mirror validate it demonstrates", last)
			}
			// A fresh copy, so that files a block creates (keys,
			// certificates) neither land in the repository nor help
			// another block.
			dir := t.TempDir()
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			script := strings.Join(cmds, "\n")
			c := exec.Command(sh, "-e", "-c", script)
			c.Dir = dir
			// Nothing from the developer's or CI's environment (a GH_TOKEN,
			// a FLUX_MIRROR_CONFIG) may make a block pass here that fails
			// for a reader.
			c.Env = []string{
				"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOME=" + t.TempDir(),
			}
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("%s\n%v\n%s", script, err, out)
			}
			if !strings.Contains(string(out), "is valid") {
				t.Errorf("%s\nprinted no validation summary:\n%s", script, out)
			}
		})
	}
}
