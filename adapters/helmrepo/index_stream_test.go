package helmrepo

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// streamDocs are index documents on which scanIndex must agree with
// parseIndex, chart by chart. They are also the fuzz seed corpus.
var streamDocs = map[string]string{
	"helm yaml":                 yamlIndex,
	"helm json":                 `{"apiVersion":"v1","entries":{"demo":[{"name":"demo","version":"1.2.3+build.1","digest":"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789","urls":["demo-1.2.3+build.1.tgz"]},null,{"name":"demo","version":1.10,"urls":["number.tgz"]}],"other":[]}}`,
	"json pretty":               "{\n  \"apiVersion\": \"v1\",\n  \"entries\": {\n    \"a\": [\n      {\"version\": \"1.0.0\", \"urls\": [\"a-1.0.0.tgz\"], \"extra\": {\"x\": [1, 2]}}\n    ],\n    \"b\": null\n  }\n}\n",
	"json entries twice":        `{"entries":{"a":[{"version":"1"}],"b":[{"version":"2"}]},"Entries":{"a":[{"version":"3"}]}}`,
	"json entries null later":   `{"entries":{"a":[{"version":"1"}]},"entries":null,"entries":{"b":[]}}`,
	"json then yaml":            "{\"entries\": {\"a\": [{version: 1.0.0}]}}\n",
	"flow yaml doc":             "{entries: {a: [{version: 1.0.0, urls: [a.tgz]}]}}",
	"indented sequence":         "entries:\n  a:\n    - version: 1.0.0\n      urls:\n        - a.tgz\n    - version: 2.0.0\n  b:\n    - version: 3.0.0\n",
	"root indented":             "  apiVersion: v1\n  entries:\n    a:\n    - version: \"1\"\n",
	"comments and blanks":       "# index\n\napiVersion: v1 # inline\nentries:\n  # charts\n  a:\n  # first\n  - version: 1.0.0 # v\n\n    urls: [a.tgz] # u\n  - # empty item\n    version: 2.0.0\n",
	"block scalars":             "entries:\n  a:\n  - description: |\n      - version: 9.9.9\n      b:\n    version: 1.0.0\n  - description: >-\n\n      folded\n\n    version: 2.0.0\n  b:\n  - version: |\n      x\nserverInfo: {}\n",
	"quoted multi-line":         "entries:\n  a:\n  - description: \"line one\n  b:\n  - version: 7\"\n    version: 1.0.0\n  - description: 'it''s\n  c: x'\n    version: \"2.0.0\"\n",
	"flow chart":                "entries:\n  a: [{version: 1.0.0, urls: [a.tgz]},\n    {version: 2.0.0}]\n  b: []\n  c: null\n  d:\n",
	"flow entries":              "apiVersion: v1\nentries: {a: [{version: 1.0.0}], b: [{version: \"2\"}]}\n",
	"entries flow on next line": "entries:\n  {a: [{version: 1.0.0}]}\n",
	"entries twice":             "entries:\n  a:\n  - version: 1.0.0\nentries:\n  b:\n  - version: 2.0.0\n",
	"chart twice":               "entries:\n  a:\n  - version: 1.0.0\n  a:\n  - version: 2.0.0\n",
	"anchor in entry":           "entries:\n  a:\n  - maintainers: &m [{name: x}]\n    sources: *m\n    version: 1.0.0\n",
	"quoted keys":               "entries:\n  \"a\":\n  - version: 1.0.0\n  'b c':\n  - version: 2.0.0\n  yes:\n  - version: 3.0.0\n  1.10:\n  - version: 4.0.0\n",
	"crlf":                      "apiVersion: v1\r\nentries:\r\n  a:\r\n  - version: 1.0.0\r\n    urls:\r\n    - a.tgz\r\n",
	"bom":                       "\ufeffentries:\n  a:\n  - version: 1.0.0\n",
	"two documents":             "---\nentries:\n  a:\n  - version: 1.0.0\n---\nentries: [not, valid\n",
	"document end":              "entries:\n  a:\n  - version: 1.0.0\n...\n%%% junk\n",
	"Entries":                   "Entries:\n  a:\n  - version: 1.0.0\n",
	"colons":                    "entries:\n  a:\n  - description: \"a: b\" # c: d\n    home: http://x:80/y\n    version: 1.0.0\n    urls: [\"http://h/a.tgz\"]\n",
	"empty entries":             "entries: {}\n",
	"flow in item":              "entries:\n  a:\n  - {version: 1.0.0,\n  urls: [a.tgz]}\n  - version: 2.0.0\n",
	"key with spaces":           "entries:\n  a   :\n  - version : 1.0.0\n",
}

// agree checks that scanIndex gives, for each chart of old (and for a
// chart that is absent), what parseIndex gave.
func agree(t *testing.T, data []byte, maxPart int) {
	t.Helper()
	base := mustURL(t, "https://charts.example.com/sub/?q=1")
	old, oldErr := parseIndex(data, base)
	names := []string{"absent"}
	for name := range old {
		names = append(names, name, strings.ToUpper(name))
	}
	sort.Strings(names)
	for _, name := range names {
		got, err := scanIndex(bytes.NewReader(data), base, name, maxPart)
		if oldErr != nil {
			continue // only where the full parse succeeds must the results agree
		}
		if err != nil {
			if errors.Is(err, errUnsupported) || errors.Is(err, errAliases) || errors.Is(err, errPartTooLarge) {
				continue // a documented refusal
			}
			t.Fatalf("scanIndex(%q) failed where parseIndex succeeds: %v\nindex: %q", name, err, data)
		}
		want, found := old[name]
		if got.found != found {
			t.Fatalf("scanIndex(%q) found=%v, parseIndex found=%v\nindex: %q", name, got.found, found, data)
		}
		if found && !reflect.DeepEqual(got.versions, want) {
			t.Fatalf("scanIndex(%q) =\n%+v\nparseIndex:\n%+v\nindex: %q", name, got.versions, want, data)
		}
	}
}

func TestScanIndexAgreesWithParseIndex(t *testing.T) {
	t.Parallel()
	for name, doc := range streamDocs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := parseIndex([]byte(doc), mustURL(t, "https://x")); err != nil {
				t.Fatalf("a seed must be a valid index: %v", err)
			}
			agree(t, []byte(doc), DefaultMaxIndexPart)
		})
	}
}

func TestScanIndexRefuses(t *testing.T) {
	t.Parallel()
	bomb := "entries:\n  a:\n  - l0: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += "    " + n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = n
	}
	bomb += "    version: 1.0.0\n"
	tests := []struct {
		name, doc string
		maxPart   int
		want      error
		msg       string
	}{
		{"alias bomb", bomb, DefaultMaxIndexPart, errAliases, "alias bomb"},
		{"alias to another entry", "entries:\n  a:\n  - &x {version: 1.0.0}\n  - *x\n", DefaultMaxIndexPart, errAliases, "anchor outside"},
		{"large entry", "entries:\n  a:\n  - version: 1.0.0\n    description: " + strings.Repeat("x", 300) + "\n", 256, errPartTooLarge, "an entry of chart \"a\" is larger than 256 bytes"},
		{"long line", "entries:\n  a:\n  - version: 1.0.0\n  b: " + strings.Repeat("x", 70000) + "\n", 65536, errPartTooLarge, "longer than 65536"},
		{"large flow document", "# flow\n{entries: {a: [" + strings.Repeat("{version: x},", 100) + "]}}", 256, errPartTooLarge, "not a block mapping"},
		{"large flow chart", "entries:\n  a: [" + strings.Repeat("{version: x},", 100) + "]\n", 256, errPartTooLarge, "not a block sequence"},
		{"large invalid json", `{"entries": {"a": [` + strings.Repeat(`{"version": "x"},`, 100) + `]}`, 256, errPartTooLarge, "not valid JSON"},
		{"tab", "entries:\n\ta:\n", DefaultMaxIndexPart, errUnsupported, "tab"},
		{"merge key", "entries:\n  <<: {a: []}\n", DefaultMaxIndexPart, errUnsupported, "merge key"},
		{"no entries", "apiVersion: v1\n", DefaultMaxIndexPart, errNoEntries, "no \"entries\""},
		{"null entries", "entries:\napiVersion: v1\n", DefaultMaxIndexPart, errNoEntries, "no \"entries\""},
		{"empty", " \n\t", DefaultMaxIndexPart, errEmptyIndex, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := scanIndex(strings.NewReader(tt.doc), mustURL(t, "https://x"), "a", tt.maxPart)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

// FuzzScanIndex compares the streaming reader with the full parse on every
// input the full parse accepts, with the default part limit and with a tiny
// one that splits even small documents differently.
func FuzzScanIndex(f *testing.F) {
	for _, doc := range streamDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agree(t, data, DefaultMaxIndexPart)
		agree(t, data, 64)
	})
}
