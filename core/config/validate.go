package config

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/selection"
)

// Purpose says which command a Config is validated for.
type Purpose int

const (
	// PurposeSync validates for flux mirror sync: at least one artifacts or
	// charts entry is required.
	PurposeSync Purpose = iota
	// PurposeHosts validates for flux mirror login and secret, which read
	// only the hosts section and accept a hosts-only config.
	PurposeHosts
)

// String returns "sync" or "hosts".
func (p Purpose) String() string {
	switch p {
	case PurposeSync:
		return "sync"
	case PurposeHosts:
		return "hosts"
	}
	return "Purpose(" + strconv.Itoa(int(p)) + ")"
}

// Patterns shared by Validate and the JSON Schema, so that the two agree.
const (
	// hostLabel is one DNS label (or an IPv4 octet).
	hostLabel = `[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`
	// lowerHostLabel is hostLabel without upper case, for hosts[].host.
	lowerHostLabel = `[a-z0-9](?:[a-z0-9-]*[a-z0-9])?`
	ipv6Literal    = `\[[0-9a-fA-F:.]+\]`
	// port is a TCP port, 1-65535, without leading zeros.
	port       = `(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])`
	portSuffix = `(?::` + port + `)?`

	// hostPattern is a registry host with an optional port, as hosts[].host.
	hostPattern = `^(?:` + lowerHostLabel + `(?:\.` + lowerHostLabel + `)*|` + ipv6Literal + `)` + portSuffix + `$`

	// registryHost is the host part of a repository: a domain or address
	// that oci.ParseRepository recognises as a host (it has a dot or a
	// port, or is localhost).
	registryHost = `(?:(?:localhost|` + hostLabel + `(?:\.` + hostLabel + `)+|` + ipv6Literal + `)` + portSuffix +
		`|` + hostLabel + `:` + port + `)`
	// pathComponent is the distribution spec's repository path component.
	pathComponent = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`
	// dockerHubNamespace is a first path component that is not a registry
	// host (no '.' or ':'): the name is a Docker Hub repository.
	dockerHubNamespace = `[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*`

	// repositoryPattern is host/path, or a Docker Hub name ("nginx",
	// "stefanprodan/podinfo") as oci.ParseRepository normalises it.
	repositoryPattern = `^(?:` + registryHost + `(?:/` + pathComponent + `)+|` +
		dockerHubNamespace + `(?:/` + pathComponent + `)*)$`
	chartDestinationPattern = `^oci://` + registryHost + `(?:/` + pathComponent + `)*$`
	chartNamePattern        = `^` + pathComponent + `$`
	httpURLPattern          = `^https?://[^\s/?#@]+(?:/[^\s?#]*)?$`
	issuerPattern           = `^https?://[^\s/?#]+[^\s]*$`
	spiffeIDPattern         = `^spiffe://[a-z0-9._-]+(?:/[a-zA-Z0-9._-]+)*$`
	trustDomainPattern      = `^[a-z0-9._-]+$`

	durationUnit = `(?:ns|us|µs|μs|ms|s|m|h)`
	durationNum  = `(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)`
	zeroNum      = `(?:0+(?:\.0*)?|\.0+)`
	// nonNegativeDuration is a Go duration string that is not negative.
	nonNegativeDuration = `^(?:[-+]?0|\+?(?:` + durationNum + durationUnit + `)+|-(?:` + zeroNum + durationUnit + `)+)$`
	// zeroDuration is a Go duration string that is zero.
	zeroDuration = `^(?:[-+]?0|[-+]?(?:` + zeroNum + durationUnit + `)+)$`
)

var (
	hostRE        = regexp.MustCompile(hostPattern)
	chartNameRE   = regexp.MustCompile(chartNamePattern) // also one repository path component
	spiffeIDRE    = regexp.MustCompile(spiffeIDPattern)
	trustDomainRE = regexp.MustCompile(trustDomainPattern)
)

// Validate checks c against every rule of the Config API and returns all
// problems found, joined with errors.Join, each a *FieldError whose message
// names the field and what is allowed. It returns nil for a valid Config.
// Validate does not touch the file system: paths are checked by the loader.
func (c *Config) Validate(p Purpose) error {
	var l errorList
	if c == nil {
		l.add("", "", "the config is empty; it needs apiVersion: %s and kind: %s", APIVersion, Kind)
		return l.err()
	}
	root := field{}
	switch c.APIVersion {
	case APIVersion:
	case "":
		l.add("apiVersion", "", "is required; set it to %s", APIVersion)
	default:
		l.add("apiVersion", "", "%q is not supported; use %s", c.APIVersion, list(APIVersions...))
	}
	switch c.Kind {
	case Kind:
	case "":
		l.add("kind", "", "is required; set it to %s", Kind)
	default:
		l.add("kind", "", "%q is not supported; use %s", c.Kind, Kind)
	}
	if p == PurposeSync && len(c.Artifacts) == 0 && len(c.Charts) == 0 {
		l.add("", "", "nothing to mirror: at least one artifacts or charts entry is required")
	}

	// dests maps each destination repository to the entry writing it.
	dests := map[string]string{}
	claim := func(f field, repo string) {
		if prev, ok := dests[repo]; ok {
			l.add(f.path, f.host, "%q is also the destination of %s; each destination repository may be written by one entry", repo, prev)
			return
		}
		dests[repo] = strings.SplitN(f.path, ".", 2)[0]
	}
	for i, a := range c.Artifacts {
		validateArtifact(&l, root.child("artifacts").index(i), a, claim)
	}
	for i, ch := range c.Charts {
		validateChart(&l, root.child("charts").index(i), ch, claim)
	}
	seen := hostSet{}
	for i, h := range c.Hosts {
		f := field{path: "hosts[" + strconv.Itoa(i) + "]", host: h.Host}
		validateHost(&l, f, h)
		seen.claim(&l, f, i)
	}
	return l.err()
}

// hostSet finds hosts listed twice, Docker Hub's three names counting as
// one.
type hostSet map[string]int

// claim records hosts[i] (at f) and reports it when an earlier entry
// already named the same host.
func (s hostSet) claim(l *errorList, f field, i int) {
	if f.host == "" {
		return
	}
	key := oci.CanonicalHost(f.host)
	prev, ok := s[key]
	if !ok {
		s[key] = i
		return
	}
	same := ""
	if oci.IsDockerHub(f.host) {
		same = " (docker.io, index.docker.io and registry-1.docker.io all name Docker Hub)"
	}
	l.add(f.child("host").path, f.host, "duplicates hosts[%d]%s; each host may be listed once", prev, same)
}

func validateArtifact(l *errorList, f field, a Artifact, claim func(field, string)) {
	src, srcErr := validateRepository(l, f.child("source"), a.Source)
	dst, dstErr := validateRepository(l, f.child("destination"), a.Destination)
	if srcErr == nil && dstErr == nil {
		if src == dst {
			l.add(f.child("destination").path, f.host, "%q is the source itself; mirror to a different repository", a.Destination)
		} else {
			claim(f.child("destination"), dst.String())
		}
	}
	if a.Selector == nil {
		l.add(f.child("selector").path, f.host, `is required; e.g. selector: {semver: "*"} mirrors the highest version`)
	} else {
		validateSelector(l, f.child("selector"), *a.Selector)
	}
	if a.Verify != nil {
		validateVerify(l, f.child("verify"), *a.Verify)
	}
}

// validateRepository checks an OCI repository written without a scheme.
func validateRepository(l *errorList, f field, s string) (oci.Repository, error) {
	if s == "" {
		l.add(f.path, f.host, "is required; write the repository as host/path, e.g. ghcr.io/org/app")
		return oci.Repository{}, errInvalid
	}
	r, err := oci.ParseRepository(s)
	if err != nil {
		l.add(f.path, f.host, "%v", err)
		return oci.Repository{}, err
	}
	if !validRegistryHost(r.Host) {
		l.add(f.path, f.host, "%q has an invalid registry host %q (a DNS name or IP address with an optional port)", s, r.Host)
		return oci.Repository{}, errInvalid
	}
	return r, nil
}

// errInvalid marks a value already reported as invalid.
var errInvalid = errors.New("invalid")

// validRegistryHost accepts any-case host names with a valid port.
func validRegistryHost(h string) bool {
	return hostRE.MatchString(strings.ToLower(h)) && validPort(h)
}

// validPort checks the port of host[:port], if any, is 1..65535 written
// without leading zeros.
func validPort(h string) bool {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.HasSuffix(h, "]") {
		return true
	}
	p := h[i+1:]
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '0' && p[0] != '+'
}

// validateSelector reports the problems selection.Check finds, under the
// selector's path: the selector rules live in package selection alone.
func validateSelector(l *errorList, f field, s Selector) {
	for _, e := range selection.Check(s.Selection()) {
		l.add(f.child(e.Field).path, f.host, "%s", e.Message)
	}
}

func validateVerify(l *errorList, f field, v Verify) {
	switch v.Provider {
	case VerifyProviderCosign:
	case "":
		l.add(f.child("provider").path, f.host, "is required; set it to %s", VerifyProviderCosign)
	default:
		l.add(f.child("provider").path, f.host, "%q must be %s", v.Provider, VerifyProviderCosign)
	}
	if len(v.MatchOIDCIdentity) == 0 {
		l.add(f.child("matchOIDCIdentity").path, f.host, "needs at least one identity (issuer and subject) to accept signatures from")
	}
	for i, id := range v.MatchOIDCIdentity {
		g := f.child("matchOIDCIdentity").index(i)
		if id.Issuer == "" {
			l.add(g.child("issuer").path, g.host, "is required; the OIDC issuer URL, e.g. https://token.actions.githubusercontent.com")
		} else if msg := checkURL(id.Issuer, "http", "https"); msg != "" {
			l.add(g.child("issuer").path, g.host, "%q %s (e.g. https://token.actions.githubusercontent.com)", core.RedactURL(id.Issuer), msg)
		}
		if id.Subject == "" {
			l.add(g.child("subject").path, g.host, "is required; a Go regular expression matched against the certificate identity, e.g. ^https://github\\.com/org/.*$")
		} else if _, err := regexp.Compile(id.Subject); err != nil {
			l.add(g.child("subject").path, g.host, "%q is not a valid Go regular expression: %v", id.Subject, err)
		}
	}
	if v.MinAge != nil && v.MinAge.Duration < 0 {
		l.add(f.child("minAge").path, f.host, "must be >= 0, got %s", v.MinAge.Duration)
	}
}

// checkURL returns why s is not an absolute URL with one of the schemes and
// a host, or "" when it is.
func checkURL(s string, schemes ...string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	if !slices.Contains(schemes, u.Scheme) {
		return "must be an absolute " + list(schemes...) + " URL"
	}
	if u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return "must be an absolute " + list(schemes...) + " URL with a host"
	}
	return ""
}

func validateChart(l *errorList, f field, c Chart, claim func(field, string)) {
	nameOK := false
	switch {
	case c.Name == "":
		l.add(f.child("name").path, f.host, "is required; the chart's name in the source repository")
	case !chartNameRE.MatchString(c.Name):
		l.add(f.child("name").path, f.host, "%q cannot be an OCI repository name (lowercase letters and digits, separated by ., _, __ or dashes)", c.Name)
	default:
		nameOK = true
	}
	if c.Source == "" {
		l.add(f.child("source").path, f.host, "is required; the http or https URL of the Helm repository")
	} else if msg := checkURL(c.Source, "http", "https"); msg != "" {
		l.add(f.child("source").path, f.host, "%q %s, e.g. https://charts.example.com", core.RedactURL(c.Source), msg)
	} else if u, _ := url.Parse(c.Source); u.User != nil {
		l.add(f.child("source").path, f.host, "must not embed credentials; add the repository with helm repo add and flux mirror reads them from the Helm repositories config")
	} else if u.RawQuery != "" || u.Fragment != "" || strings.Contains(c.Source, "?") || strings.Contains(c.Source, "#") {
		l.add(f.child("source").path, f.host, "%q must not have a query or fragment; it is the base URL of the repository's index.yaml", core.RedactURL(c.Source))
	}
	validateChartDestination(l, f, c, nameOK, claim)
	for _, e := range selection.CheckVersions(c.Version, c.Limit) {
		l.add(f.child(e.Field).path, f.host, "%s", e.Message)
	}
}

func validateChartDestination(l *errorList, f field, c Chart, nameOK bool, claim func(field, string)) {
	g := f.child("destination")
	if c.Destination == "" {
		l.add(g.path, g.host, "is required; the oci:// URL the chart is published under, e.g. oci://ghcr.io/org/charts")
		return
	}
	base, ok := strings.CutPrefix(c.Destination, "oci://")
	if !ok {
		l.add(g.path, g.host, "%q must start with oci://, e.g. oci://ghcr.io/org/charts", c.Destination)
		return
	}
	host, _, _ := strings.Cut(base, "/")
	if !oci.HasRegistryHost(host) {
		l.add(g.path, g.host, "%q must start with a registry host (with a '.' or a port, or localhost), e.g. oci://docker.io/%s", c.Destination, base)
		return
	}
	probe := base + "/chart"
	if strings.Contains(base, "/") {
		probe = base
	}
	if _, err := oci.ParseRepository(probe); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "tag or digest") {
			msg = "must not carry a tag or digest; versions are chosen by version and limit"
		} else {
			msg = "is not an OCI repository URL (oci://host[:port][/path], lowercase path): " + msg
		}
		l.add(g.path, g.host, "%q %s", c.Destination, msg)
		return
	}
	if !validRegistryHost(host) {
		l.add(g.path, g.host, "%q has an invalid registry host %q (a DNS name or IP address with an optional port)", c.Destination, host)
		return
	}
	if nameOK {
		claim(g, base+"/"+c.Name)
	}
}

func validateHost(l *errorList, f field, h Host) {
	switch {
	case h.Host == "":
		l.add(f.child("host").path, "", "is required; the registry host with an optional port, e.g. registry.example.com or localhost:5000")
	case strings.Contains(h.Host, "://") || strings.Contains(h.Host, "/"):
		l.add(f.child("host").path, f.host, "must be a bare host[:port] without scheme or path")
	case strings.ToLower(h.Host) != h.Host:
		l.add(f.child("host").path, f.host, "must be lower case (%q)", strings.ToLower(h.Host))
	case !hostRE.MatchString(h.Host) || !validPort(h.Host):
		l.add(f.child("host").path, f.host, "is not a valid host[:port] (a DNS name or IP address, port 1-65535)")
	}

	if h.Credential != nil && h.Provider != "" {
		l.add(f.path, f.host, "credential and provider are mutually exclusive; set one")
	}
	if h.TLS != nil && h.Provider != "" {
		l.add(f.child("tls").path, f.host, "is not allowed with provider: a cloud registry's transport is not customized")
	}
	if h.Credential == nil && h.Provider == "" && h.TLS == nil && h.MaxChunkSize == 0 {
		l.add(f.path, f.host, "at least one of credential, provider, tls or maxChunkSize must be set")
	}
	if h.Provider != "" {
		validateProviderName(l, f.child("provider"), h.Provider)
	}
	if h.Username != "" {
		switch {
		case h.Provider != "":
			l.add(f.child("username").path, f.host, "is not allowed with provider: the cloud provider supplies the username")
		case h.Credential == nil:
			l.add(f.child("username").path, f.host, "requires a credential, which is sent as the password")
		}
	}
	if h.Credential != nil {
		validateCredential(l, f.child("credential"), *h.Credential)
	}
	if h.TLS != nil {
		validateTLS(l, f.child("tls"), *h.TLS)
	}
	checkMaxChunkSize(l, f, h.MaxChunkSize)
}

// checkMaxChunkSize is the maxChunkSize range of either apiVersion, in KiB.
func checkMaxChunkSize(l *errorList, f field, n int64) {
	if n < 0 {
		l.add(f.child("maxChunkSize").path, f.host, "must be >= 0 KiB (0 disables chunked uploads), got %d", n)
	} else if n > maxChunkSize {
		l.add(f.child("maxChunkSize").path, f.host, "must be at most %d KiB, got %d", int64(maxChunkSize), n)
	}
}

// validateProviderName checks the shape of a provider name only: which
// providers exist depends on the binary, and the CLI checks that against
// the factories it was built with.
func validateProviderName(l *errorList, f field, name string) {
	if !ValidProviderName(name) {
		l.add(f.path, f.host, "%q is not a provider name: use lower-case letters, digits and '-', starting with a letter or digit (e.g. github, ecr)", name)
	}
}

func validateCredential(l *errorList, f field, c Credential) {
	n := count(c.Provider != "", c.Value != "", c.FromPath != "", c.JWKPath != "", c.JWKValue != "")
	if n != 1 {
		l.add(f.path, f.host, "exactly one of provider, value, fromPath, jwkPath or jwkValue must be set")
	}
	if c.Provider != "" {
		validateProviderName(l, f.child("provider"), c.Provider)
	}
	jwk := c.JWKPath != "" || c.JWKValue != ""
	for _, claimField := range []struct {
		name string
		set  bool
	}{{"iss", c.Iss != ""}, {"sub", c.Sub != ""}} {
		switch {
		case jwk && !claimField.set:
			l.add(f.child(claimField.name).path, f.host, "is required with jwkPath or jwkValue")
		case !jwk && claimField.set:
			l.add(f.child(claimField.name).path, f.host, "is only allowed with jwkPath or jwkValue")
		}
	}
	if c.Aud != "" && !jwk && c.Provider == "" {
		l.add(f.child("aud").path, f.host, "is only allowed with provider, jwkPath or jwkValue")
	}
	if c.Exp != nil {
		if !jwk {
			l.add(f.child("exp").path, f.host, "is only allowed with jwkPath or jwkValue")
		}
		if c.Exp.Duration <= 0 {
			l.add(f.child("exp").path, f.host, "must be > 0, got %s", c.Exp.Duration)
		}
	}
}

func validateTLS(l *errorList, f field, t TLS) {
	if t.ServerAuth == nil && t.ClientAuth == nil {
		l.add(f.path, f.host, "at least one of serverAuth or clientAuth must be set")
	}
	if s := t.ServerAuth; s != nil {
		g := f.child("serverAuth")
		if count(s.FromPath != "", s.Value != "", s.SPIFFE != nil) != 1 {
			l.add(g.path, g.host, "exactly one of fromPath, value or spiffe must be set")
		}
		if sp := s.SPIFFE; sp != nil {
			validateSPIFFE(l, g.child("spiffe"), *sp)
		}
	}
	if c := t.ClientAuth; c != nil {
		g := f.child("clientAuth")
		checkClientCertificate(l, g, c.Provider, ClientProviderX509SVID, c.Certificate, c.Key)
		if c.Provider != "" {
			validateProviderName(l, g.child("provider"), c.Provider)
		}
	}
}

// checkClientCertificate is the rule of clientAuth in either apiVersion:
// a provider (named provider in the message) or a certificate and key,
// each from exactly one of fromPath or value.
func checkClientCertificate(l *errorList, g field, provider, named string, cert, key *Source) {
	static := cert != nil || key != nil
	switch {
	case provider != "" && static:
		l.add(g.path, g.host, "exactly one of provider or certificate and key must be set")
	case provider == "" && !static:
		l.add(g.path, g.host, "exactly one of provider (%s) or certificate and key must be set", named)
	case provider == "" && cert == nil:
		l.add(g.child("certificate").path, g.host, "is required with key")
	case provider == "" && key == nil:
		l.add(g.child("key").path, g.host, "is required with certificate")
	}
	for _, s := range []struct {
		name string
		src  *Source
	}{{"certificate", cert}, {"key", key}} {
		if s.src != nil && count(s.src.FromPath != "", s.src.Value != "") != 1 {
			l.add(g.child(s.name).path, g.host, "exactly one of fromPath or value must be set")
		}
	}
}

func validateSPIFFE(l *errorList, f field, s SPIFFEServer) {
	if count(s.ServerID != "", s.TrustDomain != "", s.AuthorizeAny) != 1 {
		l.add(f.path, f.host, "exactly one of serverID, trustDomain or authorizeAny: true must be set")
	}
	if s.ServerID != "" && !validSPIFFEID(s.ServerID) {
		l.add(f.child("serverID").path, f.host, "%q is not a SPIFFE ID (spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/registry)", s.ServerID)
	}
	checkTrustDomain(l, f, s.TrustDomain)
}

// checkTrustDomain refuses a trustDomain that is not a trust domain name
// (or self), with a hint for the spiffe:// prefix people tend to write.
func checkTrustDomain(l *errorList, f field, td string) {
	if td == "" || trustDomainRE.MatchString(td) {
		return
	}
	hint := ""
	if strings.HasPrefix(td, "spiffe://") {
		hint = "; write it without spiffe://"
	}
	l.add(f.child("trustDomain").path, f.host, "%q is not a trust domain name (lowercase letters, digits, . _ -) or self%s", td, hint)
}

func validSPIFFEID(s string) bool {
	if !spiffeIDRE.MatchString(s) {
		return false
	}
	rest := strings.TrimPrefix(s, "spiffe://")
	_, path, _ := strings.Cut(rest, "/")
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
