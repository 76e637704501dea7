package aws

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// The envelope's JOSE header fields. The header is serialized exactly as
// {"alg":"none","typ":"aws-sigv4-getcalleridentity"}.
const (
	EnvelopeAlg  = "none"
	EnvelopeType = "aws-sigv4-getcalleridentity"
)

// AudienceHeader is the signed request header that carries the audience.
const AudienceHeader = "X-Audience"

// GetCallerIdentityBody is the form body of every signed request.
const GetCallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"

// SignatureLifetime is how long STS accepts a SigV4 signature after its
// X-Amz-Date; the envelope's exp is at most this long after iat.
const SignatureLifetime = 15 * time.Minute

// maxEnvelope bounds the size of a token ParseEnvelope accepts. A session
// token is a few KiB; 64 KiB leaves ample room.
const maxEnvelope = 64 << 10

// envelopeHeader is the fixed, pre-serialized JOSE header.
var envelopeHeader = []byte(`{"alg":"` + EnvelopeAlg + `","typ":"` + EnvelopeType + `"}`)

// Envelope is the payload of the "aws" token: a SigV4-signed
// sts:GetCallerIdentity request that a registry replays to STS to learn the
// caller's account and ARN, plus the claims that bound its use.
type Envelope struct {
	// Audience is the audience the request was signed for; it equals the
	// X-Audience header.
	Audience string `json:"aud"`
	// IssuedAt is the signing time (X-Amz-Date), in Unix seconds.
	IssuedAt int64 `json:"iat"`
	// Expiry is when the signature (or the session credentials it was made
	// with, if sooner) stops being accepted, in Unix seconds.
	Expiry int64 `json:"exp"`
	// Method is the HTTP method, always POST.
	Method string `json:"method"`
	// URL is the STS endpoint the request was signed for, e.g.
	// https://sts.us-east-1.amazonaws.com/.
	URL string `json:"url"`
	// Headers are the request headers to send, keyed by canonical name:
	// Authorization, Content-Type, X-Amz-Date, X-Audience and, with session
	// credentials, X-Amz-Security-Token. Host and Content-Length are implied
	// by URL and Body.
	Headers map[string]string `json:"headers"`
	// Body is the form body, always GetCallerIdentityBody.
	Body string `json:"body"`
}

// encode serializes e as base64url(header) "." base64url(payload) ".": an
// unsecured JWT whose integrity rests on the SigV4 signature inside.
func (e *Envelope) encode() (string, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(envelopeHeader) + "." + enc(payload) + ".", nil
}

// ParseEnvelope decodes an "aws" token and checks its shape: the fixed
// header, an empty signature segment, method POST, an http(s) URL, the
// GetCallerIdentity body, the SigV4 headers, and an X-Audience header that
// equals aud and is listed in the Authorization header's SignedHeaders. It
// does not check exp, the URL's host or the signature: a registry checks
// exp and that URL is a genuine STS endpoint, and STS checks the signature
// when the request is replayed with Request.
func ParseEnvelope(token string) (*Envelope, error) {
	if len(token) > maxEnvelope {
		return nil, fmt.Errorf("aws envelope: token is larger than %d bytes", maxEnvelope)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("aws envelope: want three dot-separated segments")
	}
	if parts[2] != "" {
		return nil, errors.New("aws envelope: the signature segment must be empty (alg none)")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("aws envelope: header is not base64url")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(rawHeader, &hdr); err != nil {
		return nil, errors.New("aws envelope: header is not JSON")
	}
	if hdr.Alg != EnvelopeAlg || hdr.Typ != EnvelopeType {
		return nil, fmt.Errorf("aws envelope: header must be alg %q and typ %q", EnvelopeAlg, EnvelopeType)
	}
	rawPayload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("aws envelope: payload is not base64url")
	}
	var e Envelope
	if err := json.Unmarshal(rawPayload, &e); err != nil {
		return nil, errors.New("aws envelope: payload is not a JSON object of the envelope's fields")
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("aws envelope: %w", err)
	}
	return &e, nil
}

// validate checks the payload's shape.
func (e *Envelope) validate() error {
	if e.Audience == "" {
		return errors.New("aud is empty")
	}
	if e.Expiry <= 0 || e.IssuedAt <= 0 || e.Expiry < e.IssuedAt {
		return errors.New("iat and exp must be positive with exp not before iat")
	}
	if e.Method != http.MethodPost {
		return fmt.Errorf("method must be POST")
	}
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("url must be an absolute http(s) URL without userinfo or fragment")
	}
	if e.Body != GetCallerIdentityBody {
		return fmt.Errorf("body must be %q", GetCallerIdentityBody)
	}
	canon := make(map[string]string, len(e.Headers))
	for k, v := range e.Headers {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if _, dup := canon[ck]; dup {
			return fmt.Errorf("header %s is given twice", ck)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("header %s holds a line break", ck)
		}
		canon[ck] = v
	}
	e.Headers = canon
	for _, h := range []string{"Authorization", "X-Amz-Date", AudienceHeader} {
		if canon[h] == "" {
			return fmt.Errorf("header %s is missing", h)
		}
	}
	for h := range canon {
		switch h {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			return fmt.Errorf("header %s must not be set: it is implied by url and body", h)
		}
	}
	if canon[AudienceHeader] != e.Audience {
		return fmt.Errorf("header %s differs from aud", AudienceHeader)
	}
	signed, err := signedHeaders(canon["Authorization"])
	if err != nil {
		return err
	}
	for _, h := range []string{"host", "x-amz-date", strings.ToLower(AudienceHeader)} {
		if !signed[h] {
			return fmt.Errorf("%s is not among the signed headers", h)
		}
	}
	if _, ok := canon["X-Amz-Security-Token"]; ok && !signed["x-amz-security-token"] {
		return errors.New("x-amz-security-token is not among the signed headers")
	}
	return nil
}

// signedHeaders returns the SignedHeaders list of a SigV4 Authorization
// header value.
func signedHeaders(authorization string) (map[string]bool, error) {
	scheme, params, ok := strings.Cut(authorization, " ")
	if !ok || scheme != "AWS4-HMAC-SHA256" {
		return nil, errors.New("authorization is not an AWS4-HMAC-SHA256 signature")
	}
	for _, p := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && k == "SignedHeaders" {
			set := map[string]bool{}
			for _, h := range strings.Split(v, ";") {
				set[h] = true
			}
			return set, nil
		}
	}
	return nil, errors.New("authorization has no SignedHeaders")
}

// ExpiresAt returns exp as a time.
func (e *Envelope) ExpiresAt() time.Time { return time.Unix(e.Expiry, 0) }

// Request rebuilds the signed request for replay to STS: POST to URL with
// Headers and Body, byte for byte as signed. The caller must first check
// that URL's host is an STS endpoint it trusts and that exp has not passed;
// sending it to any other host would let a client choose who vouches for
// it.
func (e *Envelope) Request(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, e.Method, e.URL, bytes.NewReader([]byte(e.Body)))
	if err != nil {
		return nil, fmt.Errorf("aws envelope: %w", err)
	}
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}
