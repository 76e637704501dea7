package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// maxJWTPayload bounds the payload UnverifiedClaims decodes.
const maxJWTPayload = 1 << 20

// UnverifiedClaims decodes the claims of a JWT without verifying its
// signature. flux-mirror only forwards tokens (the registry verifies them);
// it reads claims such as exp to drive caching and tid to address a tenant.
// Numbers are json.Number.
func UnverifiedClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT (want three dot-separated parts)")
	}
	if len(parts[1]) > maxJWTPayload {
		return nil, errors.New("JWT payload is too large")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("JWT payload is not base64url")
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, errors.New("JWT payload is not a JSON object")
	}
	return claims, nil
}

// JWTExpiry returns the exp claim of a JWT, read without verification (see
// UnverifiedClaims). A token without exp has the zero time and no error.
func JWTExpiry(token string) (time.Time, error) {
	claims, err := UnverifiedClaims(token)
	if err != nil {
		return time.Time{}, err
	}
	raw, ok := claims["exp"]
	if !ok {
		return time.Time{}, nil
	}
	n, ok := raw.(json.Number)
	if !ok {
		return time.Time{}, errors.New("JWT exp claim is not a number")
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || f > math.MaxInt32*4 || math.IsNaN(f) {
		return time.Time{}, errors.New("JWT exp claim is not a valid time")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
