package mirrortest

import "testing"

func TestRepeatedClause(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, msg  string
		wantClause string
		want       bool
	}{
		{"empty", "", "", false},
		{"one clause", "connection refused", "", false},
		{"distinct clauses", "list tags of r.example/a: GET https://r.example/v2/a/tags/list: 503 Service Unavailable", "", false},
		{"same clause twice", "list tags of r.example/a: list tags of r.example/a: GET https://r.example/v2/a/tags/list: 500 Internal Server Error",
			"list tags of r.example/a", true},
		{"same operation on other objects", "push blob sha256:ab to destination d.example/m: push blob d.example/m@sha256:ab: PUT https://d.example/v2/m/blobs/uploads/x: 500",
			"push blob d.example/m@sha256:ab", true},
		{"different case", "Get manifest r/a:1: get manifest r/a:1: 404 Not Found", "get manifest r/a:1", true},
		{"attempt counts nested", "after 4 attempts: put manifest r/a:1: after 12 attempts: PUT https://r/v2/a/manifests/1: 503", "after 12 attempts", true},
		{"the same request twice", "GET https://r/v2/a/tags/list: GET https://r/v2/a/tags/list: EOF", "GET https://r/v2/a/tags/list", true},
		{"same verb, other object", "read blob sha256:ab from source s/a: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "", false},
		{"single words must be identical", "read blob sha256:ab from source s/a: read: connection reset by peer", "", false},
		{"single word repeated", "referrers: referrers: boom", "referrers", true},
		{"digest colons do not split", "check blob d/m@sha256:0123: HEAD https://d/v2/m/blobs/sha256:0123: 500", "", false},
		{"joined errors are split at lines", "put manifest d/m:1: 500\nput manifest d/m:2: 500", "put manifest d/m:2", true},
		{"digit runs in the first two words only", "chunk at offset 0: chunk at offset 512: boom", "chunk at offset 512", true},
		{"trailing separators", "boom: ", "", false},
		{"a quoted value is not a context", `chart version: "x y" is not a valid range: improper constraint: "x y"`, "", false},
		{"the same quoted value twice", `tag: "x y": "x y"`, `"x y"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clause, ok := RepeatedClause(tt.msg)
			if ok != tt.want || clause != tt.wantClause {
				t.Errorf("RepeatedClause(%q) = %q, %v; want %q, %v", tt.msg, clause, ok, tt.wantClause, tt.want)
			}
		})
	}
}
