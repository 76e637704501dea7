package app

// End-to-end tests of v1beta2 configs through sync: a signed-JWT credential
// with several audiences and an envelope, verified by a JWT gateway in
// front of a real registry, and cosign's legacy sha256-<hex>.sig tag
// mirrored by includeReferrers and verified with --trusted-root.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/cosign/cosigntest"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
)

// v1beta2Config is a v1beta2 config of entries (artifactConfig's format)
// and a hosts section.
func v1beta2Config(hosts string, entries ...string) string {
	return "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\nartifacts:\n" + strings.Join(entries, "") + hosts
}

// envelopeGate stands in front of a JWT gateway the way a registry behind
// an authenticating proxy expects an enveloped token: it opens the bearer
// token with open and passes the JWT inside on, or answers 401.
type envelopeGate struct {
	open     func(token string) (string, bool)
	refused  atomic.Int64
	bypass   atomic.Bool // the test inspects the registry: no credential asked
	mu       sync.Mutex
	audience [][]string // the aud claims the gateway admitted
}

// inspect runs f, the test's own reads of the registry, with the gate
// open; no sync runs meanwhile.
func (e *envelopeGate) inspect(f func()) {
	e.bypass.Store(true)
	defer e.bypass.Store(false)
	f()
}

func (e *envelopeGate) wrap(gw *jwtgateway.Gateway, next http.Handler) http.Handler {
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := jwtgateway.ClaimsFrom(r.Context()); ok {
			e.mu.Lock()
			e.audience = append(e.audience, []string(c.Audience))
			e.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
	inner := gw.Wrap(record)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.bypass.Load() {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		jwt, ok := e.open(token)
		if !strings.EqualFold(scheme, "Bearer") || !ok {
			e.refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"not an enveloped token"}]}`, http.StatusUnauthorized)
			return
		}
		r.Header.Set("Authorization", "Bearer "+jwt)
		inner.ServeHTTP(w, r)
	})
}

// TestSyncV1Beta2SignedJWTEnvelope syncs through a registry that admits only
// JWTs signed by the key keygen wrote, for its audience, wrapped in the
// envelope it expects: the v1beta2 credential's audiences all reach the aud
// claim and its envelope rewrites every token sent.
func TestSyncV1Beta2SignedJWTEnvelope(t *testing.T) {
	keys := t.TempDir()
	if res := run(t, runOpts{}, "keygen", "-o", keys); res.code != 0 {
		t.Fatalf("keygen exit %d: %s", res.code, res.stderr)
	}
	pub, err := os.ReadFile(filepath.Join(keys, "pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwtgateway.ParseKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(filepath.Join(keys, "privkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	isJWT := func(s string) bool { return strings.Count(s, ".") == 2 }
	tests := []struct {
		name     string
		envelope string // credential.envelope; "" leaves it out
		open     func(token string) (string, bool)
		wantOK   bool
	}{
		{name: "base64 envelope", envelope: "{{ .Token | base64 }}", wantOK: true,
			open: func(tok string) (string, bool) {
				b, err := base64.StdEncoding.DecodeString(tok)
				return string(b), err == nil && isJWT(string(b))
			}},
		{name: "prefixed envelope", envelope: "jwt-{{ .Token }}", wantOK: true,
			open: func(tok string) (string, bool) {
				jwt, ok := strings.CutPrefix(tok, "jwt-")
				return jwt, ok && isJWT(jwt)
			}},
		{name: "no envelope: the bare JWT is refused", wantOK: false,
			open: func(tok string) (string, bool) {
				b, err := base64.StdEncoding.DecodeString(tok)
				return string(b), err == nil && isJWT(string(b))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := &envelopeGate{open: tt.open}
			var gw atomic.Pointer[jwtgateway.Gateway]
			dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gate.wrap(gw.Load(), next).ServeHTTP(w, r) })
			}))
			g, err := jwtgateway.New(jwtgateway.Config{Keys: set, Issuer: "https://ci.example.com", Audience: dst.Host(), Subject: "mirror-bot"})
			if err != nil {
				t.Fatal(err)
			}
			gw.Store(g)
			src := registrytest.NewDistribution(t)
			src.PushRandomImage(t, src.Ref("app:1.0.0"), 2, 1024)

			dir := t.TempDir()
			writeFile(t, dir, "keys/privkey.json", string(priv))
			envelope := ""
			if tt.envelope != "" {
				envelope = fmt.Sprintf("      envelope: %q\n", tt.envelope)
			}
			cfg := writeFile(t, dir, "c.yaml", v1beta2Config(fmt.Sprintf(`hosts:
  - host: %s
    provider: generic
    credential:
      type: jwt
      jwkPath: ./keys/privkey.json
      issuer: https://ci.example.com
      subject: mirror-bot
      audiences: [%s, mirror-gateway]
      expiration: 5m
%s`, dst.Host(), dst.Host(), envelope), entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))

			if res := run(t, runOpts{}, "validate", cfg); res.code != 0 || !strings.Contains(res.stdout, "as mirror.plugin.fluxcd.io/v1beta2") {
				t.Fatalf("validate: exit %d\n%s%s", res.code, res.stdout, res.stderr)
			}
			rep, res := syncReport(t, runOpts{}, cfg)
			if !tt.wantOK {
				if res.code != 1 || gate.refused.Load() == 0 || g.Accepted() != 0 {
					t.Fatalf("a bare JWT must be refused: exit %d, refused %d, accepted %d\n%s", res.code, gate.refused.Load(), g.Accepted(), res.stdout)
				}
				gate.inspect(func() {
					if got := dst.Tags(t, "app"); len(got) != 0 {
						t.Errorf("tags written without an accepted token: %v", got)
					}
				})
				return
			}
			if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
				t.Fatalf("exit %d %v\n%s\n%s", res.code, statuses(rep, 0), res.stdout, res.stderr)
			}
			if gate.refused.Load() != 0 || g.Rejected() != 0 || g.Accepted() == 0 {
				t.Errorf("envelope refused %d, gateway rejected %d, accepted %d; want every request admitted", gate.refused.Load(), g.Rejected(), g.Accepted())
			}
			gate.mu.Lock()
			if len(gate.audience) == 0 {
				t.Error("the gateway recorded no admitted claims")
			}
			for _, aud := range gate.audience {
				if !slices.Equal(aud, []string{dst.Host(), "mirror-gateway"}) {
					t.Errorf("aud claim %q, want both audiences of the config", aud)
					break
				}
			}
			gate.mu.Unlock()
			gate.inspect(func() {
				if src.Digest(t, src.Ref("app:1.0.0")) != dst.Digest(t, dst.Ref("app:1.0.0")) {
					t.Error("the destination's 1.0.0 differs from the source's")
				}
			})
			// A re-run finds it up to date through the same gateway.
			rep, res = syncReport(t, runOpts{}, cfg)
			if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
				t.Errorf("re-run: exit %d %v", res.code, statuses(rep, 0))
			}
			if strings.Contains(res.stdout+res.stderr, string(priv)) {
				t.Error("the private key was printed")
			}
		})
	}
}

// legacySigRow returns the report row of a tag's cosign .sig tag.
func legacySigRow(t *testing.T, tag report.Tag, sigTag string) report.Referrer {
	t.Helper()
	for _, r := range tag.Referrers {
		if r.Tag == sigTag {
			return r
		}
	}
	t.Fatalf("tag %s: no referrer row with tag %s in %+v", tag.Tag, sigTag, tag.Referrers)
	return report.Referrer{}
}

// TestSyncV1Beta2CosignLegacySignature mirrors an image signed only under
// cosign's legacy sha256-<hex>.sig tag with includeReferrers: the tag
// arrives byte for byte, its report row names it, a re-run leaves it
// alone, and verify accepts the legacy signature against --trusted-root.
func TestSyncV1Beta2CosignLegacySignature(t *testing.T) {
	ss := cosigntest.New(t)
	trustedRoot := ss.WriteTrustedRoot(t)
	tests := []struct {
		name   string
		verify bool
	}{
		{name: "includeReferrers"},
		{name: "includeReferrers and verify", verify: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := registrytest.NewDistribution(t), registrytest.NewDistribution(t)
			digest := src.PushRandomImage(t, src.Ref("app:1.0.0"), 1, 512)
			sig := cosigntest.AttachLegacy(t, src.Host()+"/app", digest, []cosigntest.LegacySignature{
				ss.SignLegacy(t, digest, sigIssuer, sigIdentity, time.Now().Add(-time.Hour)),
			})
			sigTag := cosigntest.LegacyTag(digest)

			e := referrersEntry(src.Host()+"/app", dst.Host()+"/app")
			args := []string{}
			if tt.verify {
				e = verifyEntry(src.Host()+"/app", dst.Host()+"/app", "", [2]string{sigIssuer, acmeSubject})
				args = append(args, "--trusted-root", trustedRoot)
			}
			cfg := writeFile(t, t.TempDir(), "c.yaml", v1beta2Config("", e))

			rep, res := syncReport(t, runOpts{}, append([]string{cfg}, args...)...)
			if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
				t.Fatalf("exit %d %v\n%s", res.code, statuses(rep, 0), res.stderr)
			}
			tag := rep.Report.Results[0].Tags[0]
			if row := legacySigRow(t, tag, sigTag); row.Digest != sig || row.Status != report.StatusCopied {
				t.Errorf("the .sig row is %+v, want %s copied", row, sig)
			}
			if got := dst.Digest(t, dst.Ref("app:"+sigTag)); got != sig {
				t.Fatalf("destination %s is %s, want %s", sigTag, got, sig)
			}
			if !bytesEqual(src.ManifestBytes(t, src.Ref("app:"+sigTag)), dst.ManifestBytes(t, dst.Ref("app:"+sigTag))) {
				t.Error("the .sig manifest bytes differ")
			}
			if tt.verify {
				v := tag.Verification
				if v == nil || v.Provider != "cosign" || v.Issuer != sigIssuer || v.Identity != sigIdentity {
					t.Errorf("verification %+v, want the legacy signature's identity", v)
				}
			}

			// A re-run is a no-op for the tag and its signature.
			rep, res = syncReport(t, runOpts{}, append([]string{cfg}, args...)...)
			if res.code != 0 || rep.Report.Summary.Copied != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
				t.Fatalf("re-run: exit %d, summary %+v %v", res.code, rep.Report.Summary, statuses(rep, 0))
			}
			row := legacySigRow(t, rep.Report.Results[0].Tags[0], sigTag)
			if row.Status != report.StatusSkipped || row.Reason != report.ReasonUpToDate {
				t.Errorf("re-run: the .sig row is %+v, want skipped up-to-date", row)
			}
			if got := dst.Digest(t, dst.Ref("app:"+sigTag)); got != sig {
				t.Errorf("re-run moved %s to %s", sigTag, got)
			}
		})
	}
}
