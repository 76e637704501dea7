package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestSubstitute(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{
		"TOKEN": "s3cret",
		"EMPTY": "",
		"KEY":   "renamed",
		"_u1":   "lower",
		"NEST":  "${TOKEN}",
	})
	tests := []struct {
		name, in, want string
	}{
		{"value", "value: ${TOKEN}\n", "value: s3cret\n"},
		{"key", "${KEY}: x", "renamed: x"},
		{"empty value allowed", "u: '${EMPTY}'", "u: ''"},
		{"several on a line", "${TOKEN}-${_u1}-${TOKEN}", "s3cret-lower-s3cret"},
		{"extract template untouched", "extract: '$ts'", "extract: '$ts'"},
		{"double dollar untouched", "a: $$ b: $$$", "a: $$ b: $$$"},
		{"double dollar before a reference", "a: $${TOKEN}", "a: $s3cret"},
		{"bare dollar forms untouched", "$1 $TOKEN $ $-", "$1 $TOKEN $ $-"},
		{"no dollar", "plain: text", "plain: text"},
		{"values are not rescanned", "v: ${NEST}", "v: ${TOKEN}"},
		{"dollar at end", "v: x$", "v: x$"},
		{"unicode around", "é: ${TOKEN}ü", "é: s3cretü"},
		{"full-line comments untouched", "# ${UNSET}\n  \t# ${{ secrets.X }}\nv: ${TOKEN}\n#${1}", "# ${UNSET}\n  \t# ${{ secrets.X }}\nv: s3cret\n#${1}"},
		{"comment after a value is substituted", "v: x # ${TOKEN}", "v: x # s3cret"},
		{"hash inside a value line", "v: '#${TOKEN}'", "v: '#s3cret'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Substitute([]byte(tt.in), vars)
			if err != nil {
				t.Fatalf("Substitute: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Substitute(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSubstituteErrors(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{"SET": "secret-value"})
	tests := []struct {
		name, in string
		want     []string // one message per error, in order
		vars     []string // SubstitutionError.Variable of each error
	}{
		{
			name: "unset variable names it and its line",
			in:   "a: 1\nb: ${MISSING}\n",
			want: []string{"line 2: environment variable MISSING is not set (set it, to the empty string if need be, or use --no-envsubst to keep ${MISSING} literally)"},
			vars: []string{"MISSING"},
		},
		{
			name: "every unset variable once, at its first line",
			in:   "${A}\n${B} ${A}\n${SET}\n${B}",
			want: []string{
				"line 1: environment variable A is not set (set it, to the empty string if need be, or use --no-envsubst to keep ${A} literally)",
				"line 2: environment variable B is not set (set it, to the empty string if need be, or use --no-envsubst to keep ${B} literally)",
			},
			vars: []string{"A", "B"},
		},
		{
			name: "default syntax is not supported",
			in:   "x\ny\nv: ${VAR:-default}",
			want: []string{`line 3: "${VAR:-default}" is not a valid substitution: only ${NAME} is supported, NAME being letters, digits and underscores (or use --no-envsubst to keep ${…} literally)`},
			vars: []string{"${VAR:-default}"},
		},
		{
			name: "leading digit",
			in:   "extract: '${1}'",
			want: []string{`line 1: "${1}" is not a valid substitution: only ${NAME} is supported, NAME being letters, digits and underscores (or use --no-envsubst to keep ${…} literally)`},
			vars: []string{"${1}"},
		},
		{
			name: "empty name",
			in:   "${}",
			want: []string{`line 1: "${}" is not a valid substitution: only ${NAME} is supported, NAME being letters, digits and underscores (or use --no-envsubst to keep ${…} literally)`},
			vars: []string{"${}"},
		},
		{
			name: "lines are counted across comments",
			in:   "# ${A}\n# x\nv: ${A}",
			want: []string{"line 3: environment variable A is not set (set it, to the empty string if need be, or use --no-envsubst to keep ${A} literally)"},
			vars: []string{"A"},
		},
		{
			name: "unclosed",
			in:   "v: ${TOKEN\nw: }",
			want: []string{`line 1: "${TOKEN" is not closed: write ${NAME} on one line (or use --no-envsubst to keep ${ literally)`},
			vars: []string{"${TOKEN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Substitute([]byte(tt.in), vars)
			if err == nil {
				t.Fatalf("Substitute: no error, got %q", out)
			}
			if out != nil {
				t.Errorf("Substitute returned output with an error")
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error leaks a value: %v", err)
			}
			if err.Error() != strings.Join(tt.want, "\n") {
				t.Errorf("Substitute:\n got: %s\nwant: %s", err, strings.Join(tt.want, "\n"))
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var se *SubstitutionError
				if !errors.As(e, &se) {
					t.Fatalf("not a *SubstitutionError: %T", e)
				}
				got = append(got, se.Variable)
			}
			if strings.Join(got, "|") != strings.Join(tt.vars, "|") {
				t.Errorf("variables: got %q, want %q", got, tt.vars)
			}
		})
	}
}

func TestSubstituteNilLookup(t *testing.T) {
	t.Parallel()
	if _, err := Substitute([]byte("${X}"), nil); err == nil {
		t.Fatal("nil lookup: no error")
	}
	if out, err := Substitute([]byte("$x"), nil); err != nil || string(out) != "$x" {
		t.Fatalf("nil lookup without references: %q, %v", out, err)
	}
}

func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{"${A}", "a: ${B}\n${A}", "$$ ${} ${1} ${A", "$ts ${A:-x}", "é${A}\n\n${Z}"} {
		f.Add([]byte(s))
	}
	vars := env(map[string]string{"A": "value-a", "B": "", "Z": "${A}"})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Substitute(data, vars)
		if err != nil {
			if out != nil {
				t.Fatal("output with an error")
			}
			var se *SubstitutionError
			if !errors.As(err, &se) || se.Line < 1 || se.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if !bytes.Contains(data, []byte("${")) && !bytes.Equal(out, data) {
			t.Fatalf("input without ${ changed: %q -> %q", data, out)
		}
		// The values hold no newline, so lines stay where they were.
		if bytes.Count(out, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatalf("line count changed: %q -> %q", data, out)
		}
	})
}
