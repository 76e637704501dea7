package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// TestEncodeKeepsEveryUnconstrainedRoot: the PEM file holds every root of
// the pinned bundle that has no distrust-after date, byte for byte and in
// order, and Go's own PEM loader (what crypto/x509 does with
// /etc/ssl/certs/ca-certificates.crt) takes them all.
func TestEncodeKeepsEveryUnconstrainedRoot(t *testing.T) {
	out, left, err := encode(bundle.Roots())
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	var constrained []string
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			c, err := x509.ParseCertificate(r.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			constrained = append(constrained, c.Subject.String())
			continue
		}
		want = append(want, r.Certificate)
	}
	if !slices.Equal(left, constrained) {
		t.Errorf("left out %q, want the constrained roots %q", left, constrained)
	}
	var got [][]byte
	for rest := out; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("trailing bytes after the last certificate: %q", rest)
			}
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("block of type %q", b.Type)
		}
		got = append(got, b.Bytes)
	}
	if len(got) != len(want) || len(want) < 100 {
		t.Fatalf("the file holds %d certificates, the bundle %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("certificate %d differs from the bundle's", i+1)
		}
	}
	if !x509.NewCertPool().AppendCertsFromPEM(out) {
		t.Fatal("crypto/x509 found no certificate in the file")
	}
	// Each certificate is introduced by its subject, for a reader of the file.
	first, err := x509.ParseCertificate(want[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "# "+first.Subject.String()+"\n-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("the file starts with %q", out[:min(len(out), 120)])
	}
}

func TestEncodeLeavesOutConstrainedRoots(t *testing.T) {
	var plain bundle.Root
	for r := range bundle.Roots() {
		if r.Constraint == nil {
			plain = r
			break
		}
	}
	constrained := plain
	constrained.Constraint = func([]*x509.Certificate) error { return nil }
	out, left, err := encode(slices.Values([]bundle.Root{constrained, plain}))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || strings.Count(string(out), "BEGIN CERTIFICATE") != 1 {
		t.Errorf("left out %q and kept %d certificates; want the constrained one out, the other in", left, strings.Count(string(out), "BEGIN CERTIFICATE"))
	}
}

func TestEncodeErrors(t *testing.T) {
	var constrainedOnly []bundle.Root
	for r := range bundle.Roots() {
		r.Constraint = func([]*x509.Certificate) error { return nil }
		constrainedOnly = append(constrainedOnly, r)
		break
	}
	for _, tc := range []struct {
		name  string
		roots []bundle.Root
		want  string
	}{
		{"empty", nil, "holds no unconstrained root certificate"},
		{"only constrained", constrainedOnly, "holds no unconstrained root certificate"},
		{"not a certificate", []bundle.Root{{Certificate: []byte("junk")}}, "root 1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := encode(slices.Values(tc.roots))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
