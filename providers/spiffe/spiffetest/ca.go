package spiffetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// authority is one X.509 signing CA of a trust domain.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// domain is a trust domain with its CAs. Every CA is in the bundle; the
// last one signs new SVIDs, as during a SPIRE CA rotation.
type domain struct {
	td  spiffeid.TrustDomain
	cas []*authority
}

func newDomain(td spiffeid.TrustDomain) *domain {
	d := &domain{td: td}
	d.rotate()
	return d
}

// rotate adds a new signing CA and keeps the old ones in the bundle.
func (d *domain) rotate() {
	key := mustKey()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"spiffetest"}, CommonName: fmt.Sprintf("%s CA %d", d.td.Name(), len(d.cas)+1)},
		URIs:                  []*url.URL{d.td.ID().URL()},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	d.cas = append(d.cas, &authority{cert: cert, key: key})
}

// current is the CA that signs new SVIDs.
func (d *domain) current() *authority { return d.cas[len(d.cas)-1] }

// roots are the domain's X.509 bundle.
func (d *domain) roots() []*x509.Certificate {
	out := make([]*x509.Certificate, len(d.cas))
	for i, a := range d.cas {
		out[i] = a.cert
	}
	return out
}

// rootsDER is the bundle as concatenated DER, the Workload API encoding.
func (d *domain) rootsDER() []byte {
	var out []byte
	for _, a := range d.cas {
		out = append(out, a.cert.Raw...)
	}
	return out
}

// issued is an X.509-SVID in both forms: parsed, and as the Workload API
// sends it (leaf DER and PKCS#8 key DER).
type issued struct {
	svid    *x509svid.SVID
	certDER []byte
	keyDER  []byte
}

// issue signs an X.509-SVID for id with the domain's current CA. The leaf
// is valid for client and server authentication, and for 127.0.0.1, ::1
// and localhost so that it can also serve a classic TLS client.
func (d *domain) issue(id spiffeid.ID, ttl time.Duration) issued {
	ca := d.current()
	key := mustKey()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"spiffetest"}, CommonName: id.Path()},
		URIs:                  []*url.URL{id.URL()},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	must(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	svid, err := x509svid.ParseRaw(der, keyDER)
	must(err)
	return issued{svid: svid, certDER: der, keyDER: keyDER}
}

func mustKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	return key
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	must(err)
	return n.Add(n, big.NewInt(1))
}

// must panics on errors that cannot happen with valid, self-made inputs
// (key generation and certificate signing with crypto/rand).
func must(err error) {
	if err != nil {
		panic("spiffetest: " + err.Error())
	}
}
