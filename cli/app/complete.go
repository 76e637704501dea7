package app

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// Cobra's shell completion directives, which flux expects from a plugin's
// __complete command (spf13/cobra completions.go).
const (
	directiveDefault       = 0
	directiveNoSpace       = 2
	directiveNoFileComp    = 4
	directiveFilterFileExt = 8
	directiveFilterDirs    = 16
)

type completeCmd struct {
	Words []string `arg:"" optional:"" passthrough:"" help:"The words of the command line after the program name; the last one is being completed."`
}

// Run is never reached: Main answers __complete before kong parses, so that
// partial flags are not rejected as unknown.
func (c *completeCmd) Run(e *env, k *kong.Kong) error {
	runComplete(k, c.Words, e.Stdout, true)
	return nil
}

// completeNoDescCmd is __completeNoDesc: the same answers as __complete
// without the descriptions.
type completeNoDescCmd struct {
	Words []string `arg:"" optional:"" passthrough:"" help:"The words of the command line after the program name; the last one is being completed."`
}

// Run is never reached, like completeCmd.Run.
func (c *completeNoDescCmd) Run(e *env, k *kong.Kong) error {
	runComplete(k, c.Words, e.Stdout, false)
	return nil
}

// runComplete answers one completion request in Cobra's protocol: one
// candidate per line ("value\tdescription", or just "value" without
// descriptions), then ":<directive>".
func runComplete(k *kong.Kong, words []string, w io.Writer, descriptions bool) int {
	cands, directive := complete(k.Model.Node, words)
	for _, c := range cands {
		if !descriptions {
			c, _, _ = strings.Cut(c, "\t")
		}
		fmt.Fprintln(w, c)
	}
	fmt.Fprintf(w, ":%d\n", directive)
	return 0
}

// complete computes the candidates for the last word of words.
func complete(root *kong.Node, words []string) ([]string, int) {
	if len(words) == 0 {
		words = []string{""}
	}
	node := root
	toComplete := words[len(words)-1]
	prior := words[:len(words)-1]
	positionals := 0
	var pending *kong.Flag // a flag whose value is the next word
	for _, w := range prior {
		if pending != nil {
			pending = nil
			continue
		}
		if w == "--" {
			continue
		}
		if strings.HasPrefix(w, "-") && w != "-" {
			if strings.Contains(w, "=") {
				continue
			}
			if f := findFlag(node, w); f != nil && !f.IsBool() && !f.IsCounter() {
				pending = f
			}
			continue
		}
		if child := findChild(node, w); child != nil && positionals == 0 {
			node = child
			continue
		}
		positionals++
	}
	if pending != nil {
		return completeValue(pending, toComplete)
	}
	if name, value, ok := strings.Cut(toComplete, "="); ok && strings.HasPrefix(name, "--") {
		if f := findFlag(node, name); f != nil {
			cands, dir := completeValue(f, value)
			for i, c := range cands {
				cands[i] = name + "=" + c
			}
			return cands, dir
		}
	}
	if strings.HasPrefix(toComplete, "-") {
		return completeFlags(node, toComplete), directiveNoFileComp
	}
	var cands []string
	if positionals == 0 {
		for _, child := range node.Children {
			if child.Hidden || !strings.HasPrefix(child.Name, toComplete) {
				continue
			}
			cands = append(cands, child.Name+"\t"+child.Help)
		}
	}
	if positionals < len(node.Positional) {
		p := node.Positional[positionals]
		if enum := p.EnumSlice(); p.Enum != "" {
			for _, v := range enum {
				if strings.HasPrefix(v, toComplete) {
					cands = append(cands, v)
				}
			}
			return cands, directiveNoFileComp
		}
		if p.Tag != nil && p.Tag.Get("predictor") == "file" {
			return cands, directiveDefault
		}
	}
	return cands, directiveNoFileComp
}

func completeValue(f *kong.Flag, prefix string) ([]string, int) {
	if f.Enum != "" {
		var cands []string
		for _, v := range f.EnumSlice() {
			if strings.HasPrefix(v, prefix) {
				cands = append(cands, v)
			}
		}
		return cands, directiveNoFileComp
	}
	if f.Tag != nil {
		switch f.Tag.Get("predictor") {
		case "file":
			return nil, directiveDefault
		case "dir":
			return nil, directiveFilterDirs
		}
	}
	return nil, directiveNoFileComp
}

func completeFlags(node *kong.Node, prefix string) []string {
	var cands []string
	for _, group := range node.AllFlags(true) {
		for _, f := range group {
			for _, long := range append([]string{f.Name}, f.Aliases...) {
				if name := "--" + long; strings.HasPrefix(name, prefix) {
					cands = append(cands, name+"\t"+firstSentence(f.Help))
				}
			}
			if f.Short != 0 && prefix == "-" {
				cands = append(cands, "-"+string(f.Short)+"\t"+firstSentence(f.Help))
			}
		}
	}
	return cands
}

func findFlag(node *kong.Node, word string) *kong.Flag {
	name := strings.TrimLeft(word, "-")
	short := !strings.HasPrefix(word, "--")
	for _, group := range node.AllFlags(false) {
		for _, f := range group {
			if !short && (f.Name == name || slices.Contains(f.Aliases, name)) {
				return f
			}
			if short && len(name) == 1 && f.Short == rune(name[0]) {
				return f
			}
		}
	}
	return nil
}

func findChild(node *kong.Node, name string) *kong.Node {
	for _, c := range node.Children {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}
