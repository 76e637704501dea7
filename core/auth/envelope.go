package auth

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Envelope rewrites a credential's token after its source produced it: a
// Go text/template whose data has one field, Token, with the functions
// base64 (standard encoding) and hex (lower case), e.g.
// "token-{{ hex .Token }}". It is the v1beta2 credential.envelope.
type Envelope struct{ t *template.Template }

// envelopeData is what an envelope template sees.
type envelopeData struct{ Token string }

var envelopeFuncs = template.FuncMap{
	"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"hex":    func(s string) string { return hex.EncodeToString([]byte(s)) },
}

// ParseEnvelope compiles an envelope template and proves it on a sample
// token, so that a reference to an unknown field or function fails here,
// at load, and not at the first request. Errors never contain a token.
func ParseEnvelope(text string) (*Envelope, error) {
	t, err := template.New("envelope").Funcs(envelopeFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("is not a valid Go template: %w", err)
	}
	e := &Envelope{t: t}
	out, err := e.apply("sample")
	if err != nil {
		return nil, fmt.Errorf("cannot be executed: %w (the data has one field, .Token; functions: base64, hex)", err)
	}
	if strings.TrimSpace(out) == "" {
		return nil, errors.New("produces an empty token; reference .Token, e.g. \"{{ .Token }}\"")
	}
	return e, nil
}

// Apply returns the enveloped token.
func (e *Envelope) Apply(token string) (string, error) {
	out, err := e.apply(token)
	if err != nil {
		// A template error may quote its data: never let it carry the token.
		return "", errors.New("credential.envelope: the template failed on the token")
	}
	return out, nil
}

func (e *Envelope) apply(token string) (string, error) {
	var b strings.Builder
	if err := e.t.Execute(&b, envelopeData{Token: token}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// WithEnvelope returns a Source whose credentials are those of src with the
// secret rewritten by e at every resolution (so a rotated or re-minted token
// is enveloped afresh). A nil e returns src.
func WithEnvelope(src Source, e *Envelope) Source {
	if e == nil || src == nil {
		return src
	}
	return SourceFunc(func(ctx context.Context) (Credential, error) {
		c, err := src.Credential(ctx)
		if err != nil {
			return Credential{}, err
		}
		if c.Secret, err = e.Apply(c.Secret); err != nil {
			return Credential{}, err
		}
		return c, nil
	})
}
