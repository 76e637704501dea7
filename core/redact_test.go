package core

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://charts.example.com/stable", "https://charts.example.com/stable"},
		{"https://user:secret@charts.example.com/x", "https://charts.example.com/x"},
		{"https://h/index.yaml?token=secret&a=b", "https://h/index.yaml?a=REDACTED&token=REDACTED"},
		{"https://h/x?%zz=secret", "https://h/x?REDACTED"},
		{"https://h/x#secret", "https://h/x"},
		// url.Parse refuses these, each with the secret in its error.
		{"https://user:secret@h:port/", "https://h:port/"},
		{"https://user:secret@h%zz/a", "https://h%zz/a"},
		{"https://us@er:secret@h:bad/a@b", "https://h:bad/a@b"},
		{"https://h:bad/x?token=secret", "https://h:bad/x"},
		{"https://h:bad/x#secret", "https://h:bad/x"},
		{"https://user:p%zz@host/x?tok=s", "https://host/x"},
		{"::bad@x", "::bad@x"},
		{"h:bad@x", "h:bad@x"},
		{"", ""},
	} {
		got := RedactURL(tc.in)
		if got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("RedactURL(%q) = %q shows the secret", tc.in, got)
		}
	}
	if got := RedactedURL(nil); got != "" {
		t.Errorf("RedactedURL(nil) = %q", got)
	}
	u, err := url.Parse("https://u:p@r.example/v2/a/blobs/uploads/x?_state=secret&digest=sha256:1&n=2#frag")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := RedactedURL(u, "digest", "n"), "https://r.example/v2/a/blobs/uploads/x?_state=REDACTED&digest=sha256%3A1&n=2"; got != want {
		t.Errorf("RedactedURL with kept keys = %q, want %q", got, want)
	}
}

// FuzzRedactURL: whatever the input, no user information survives: the
// result parses without any, or its authority holds no "@".
func FuzzRedactURL(f *testing.F) {
	f.Add("https://user:secret@h:port/a@b?t=secret#secret")
	f.Add("http://h/x?y=1")
	f.Add("https://u:p@h/x")
	f.Fuzz(func(t *testing.T, raw string) {
		got := RedactURL(raw)
		if u, err := url.Parse(got); err == nil {
			if u.User != nil {
				t.Fatalf("RedactURL(%q) = %q keeps user information", raw, got)
			}
			return
		}
		_, rest, ok := strings.Cut(got, "://")
		if !ok {
			return
		}
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		if strings.Contains(rest, "@") {
			t.Fatalf("RedactURL(%q) = %q keeps user information", raw, got)
		}
	})
}
