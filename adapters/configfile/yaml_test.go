package configfile

import (
	"strconv"
	"strings"
	"testing"
)

// TestQuoteHint parses configs whose value starts with a YAML indicator,
// unquoted: the error says to quote it, written from the config as written,
// so a value that came from ${VAR} is never shown.
func TestQuoteHint(t *testing.T) {
	entry := "artifacts:\n  - source: a.example.com/app\n    destination: b.example.com/app\n    selector:\n"
	tests := []struct {
		name     string
		selector string
		env      map[string]string
		want     string // "" means: no hint
		wantNot  string
	}{
		{name: "semver >=", selector: "      semver: >=1.0.0\n", want: `quote the value: semver: ">=1.0.0"`},
		{name: "semver > with range", selector: "      semver: >1.0 <2.0\n", want: `quote the value: semver: ">1.0 <2.0"`},
		{name: "semver * with a dot", selector: "      semver: *.x\n", want: `quote the value: semver: "*.x"`},
		{name: "regex |", selector: "      regex: |^v1\n", want: `quote the value: regex: "|^v1"`},
		{name: "regex @", selector: "      regex: @latest\n", want: `quote the value: regex: "@latest"`},
		{name: "regex backquote", selector: "      regex: `x\n", want: "quote the value: regex: \"`x\""},
		{name: "regex %", selector: "      regex: %x\n", want: `quote the value: regex: "%x"`},
		{name: "trailing comment", selector: "      semver: >=1.0.0 # stable only\n", want: `quote the value: semver: ">=1.0.0"`},
		{name: "from a variable", selector: "      semver: ${SEMVER}\n", env: map[string]string{"SEMVER": ">=9.9.9-secret"},
			want: `quote the value: semver: "${SEMVER}"`, wantNot: "9.9.9-secret"},
		{name: "quoted is fine", selector: "      semver: \">=1.0.0\"\n"},
		{name: "other syntax error", selector: "      semver: \"1.0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			_, err := Parse([]byte(header+entry+tt.selector), t.TempDir(), Options{LookupEnv: lookup})
			switch {
			case tt.want == "" && err != nil && strings.Contains(err.Error(), "quote the value"):
				t.Errorf("unexpected hint: %v", err)
			case tt.want == "":
			case err == nil:
				t.Fatal("no error")
			case !strings.Contains(err.Error(), "invalid YAML: line 7: ") || !strings.HasSuffix(err.Error(), tt.want):
				t.Errorf("error %q, want it to end with %q", err, tt.want)
			}
			if tt.wantNot != "" && err != nil && strings.Contains(err.Error(), tt.wantNot) {
				t.Errorf("the error shows the substituted value: %v", err)
			}
		})
	}
}

func TestLineValue(t *testing.T) {
	tests := []struct {
		line, key, value string
		ok               bool
	}{
		{line: "  semver: >=1.0.0", key: "semver", value: ">=1.0.0", ok: true},
		{line: "  - >=1.0.0", value: ">=1.0.0", ok: true},
		{line: "  - - &a", value: "&a", ok: true},
		{line: "  - semver: *x # c", key: "semver", value: "*x", ok: true},
		{line: "  semver: \">=1\"", ok: false},
		{line: "  semver: '>=1'", ok: false},
		{line: "  selector:", ok: false},
		{line: "  selector: # nothing", ok: false},
		{line: "", ok: false},
		{line: "-", ok: false},
		{line: "  semver: >=1\r", key: "semver", value: ">=1", ok: true},
	}
	for _, tt := range tests {
		key, value, ok := lineValue(tt.line)
		if key != tt.key || value != tt.value || ok != tt.ok {
			t.Errorf("lineValue(%q) = %q, %q, %v; want %q, %q, %v", tt.line, key, value, ok, tt.key, tt.value, tt.ok)
		}
	}
}

// FuzzQuoteHint: for any text and error line, a hint is either empty or a
// quoted form of a value that starts with a YAML indicator on that line of
// data, written from the same line of raw; it never panics.
func FuzzQuoteHint(f *testing.F) {
	f.Add("semver: >=1.0.0\n", "semver: >=1.0.0\n", 1)
	f.Add("  - *x\n", "  - ${A}\n", 1)
	f.Add("a: b\nc: |d\n", "a: b\nc: |d\n", 2)
	f.Add("- \"x\n", "- \"x\n", 1)
	f.Add("", "", 0)
	f.Fuzz(func(t *testing.T, data, raw string, line int) {
		hint := quoteHint([]byte(raw), []byte(data), "invalid YAML: line "+strconv.Itoa(line)+": something")
		if hint == "" {
			return
		}
		lines := strings.Split(data, "\n")
		if line < 1 || line > len(lines) {
			t.Fatalf("a hint for line %d of %d lines", line, len(lines))
		}
		if _, v, ok := lineValue(lines[line-1]); !ok || !strings.ContainsRune(yamlIndicators, rune(v[0])) {
			t.Fatalf("a hint %q for a line without an indicator value: %q", hint, lines[line-1])
		}
		key, value, _ := lineValue(strings.Split(raw, "\n")[line-1])
		quoted := hint
		if key != "" {
			var ok bool
			if quoted, ok = strings.CutPrefix(hint, key+": "); !ok {
				t.Fatalf("hint %q does not start with the key %q", hint, key)
			}
		}
		if got, err := strconv.Unquote(quoted); err != nil || got != value {
			t.Fatalf("hint %q does not quote %q: %q, %v", hint, value, got, err)
		}
	})
}
