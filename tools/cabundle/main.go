// Command cabundle writes the Mozilla (NSS) root certificates that
// golang.org/x/crypto/x509roots/fallback pins as a PEM file, the CA bundle
// of the flux-mirror container image.
//
// The image is FROM scratch, so it has no system trust store; Go reads
// /etc/ssl/certs/ca-certificates.crt on Linux, and `make image` puts this
// file there. The roots used to be compiled into the binary, which then
// parsed all of them at every start, in every command, wherever the system
// had a store of its own. The version is the one this module's go.mod
// pins, so the bundle changes only with a reviewed update of it.
//
//	go run ./tools/cabundle > bin/image/ca-certificates.crt
package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"iter"
	"os"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: cabundle > ca-certificates.crt (no arguments)")
		os.Exit(2)
	}
	pemBytes, left, err := encode(bundle.Roots())
	for _, subject := range left {
		fmt.Fprintf(os.Stderr, "cabundle: left out %s: NSS distrusts its certificates issued after a date, which a PEM bundle cannot say\n", subject)
	}
	if err == nil {
		_, err = os.Stdout.Write(pemBytes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cabundle:", err)
		os.Exit(1)
	}
}

// encode returns the roots as PEM certificates, each after a comment line
// naming its subject, in the bundle's order, and the subjects of the roots
// it left out. A root that carries a constraint (NSS's distrust-after date:
// the CA is being retired) is left out, as PEM cannot express the date and
// trusting the root without it would be laxer than NSS.
func encode(roots iter.Seq[bundle.Root]) (pemBytes []byte, left []string, err error) {
	var b bytes.Buffer
	i, n := 0, 0
	for r := range roots {
		i++
		cert, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			return nil, nil, fmt.Errorf("root %d: %w", i, err)
		}
		if r.Constraint != nil {
			left = append(left, cert.Subject.String())
			continue
		}
		fmt.Fprintf(&b, "# %s\n", cert.Subject)
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, nil, fmt.Errorf("root %q: %w", cert.Subject, err)
		}
		n++
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("the bundle holds no unconstrained root certificate")
	}
	return b.Bytes(), left, nil
}
