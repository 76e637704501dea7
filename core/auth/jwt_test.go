package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func jwtWith(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(payload)) + ".sig"
}

func TestJWTExpiry(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		want    time.Time
		wantErr string
	}{
		{name: "integer exp", token: jwtWith(`{"exp":1700000000}`), want: time.Unix(1700000000, 0).UTC()},
		{name: "fractional exp", token: jwtWith(`{"exp":1700000000.5}`), want: time.Unix(1700000000, 5e8).UTC()},
		{name: "no exp", token: jwtWith(`{"sub":"x"}`)},
		{name: "padded payload", token: strings.Replace(jwtWith(`{"exp":1}`), ".sig", "", 1) + "==.sig", want: time.Unix(1, 0).UTC()},
		{name: "two parts", token: "a.b", wantErr: "not a JWT"},
		{name: "not base64", token: "a.!!!.c", wantErr: "not base64url"},
		{name: "not JSON", token: jwtWith(`exp`), wantErr: "not a JSON object"},
		{name: "JSON array", token: jwtWith(`[1]`), wantErr: "not a JSON object"},
		{name: "exp string", token: jwtWith(`{"exp":"soon"}`), wantErr: "not a number"},
		{name: "exp negative", token: jwtWith(`{"exp":-5}`), wantErr: "not a valid time"},
		{name: "exp huge", token: jwtWith(`{"exp":1e300}`), wantErr: "not a valid time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JWTExpiry(tt.token)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("JWTExpiry = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestUnverifiedClaims(t *testing.T) {
	claims, err := UnverifiedClaims(jwtWith(`{"tid":"tenant-1","n":3}`))
	if err != nil || claims["tid"] != "tenant-1" {
		t.Fatalf("claims %v, %v", claims, err)
	}
}

func FuzzJWTExpiry(f *testing.F) {
	f.Add(jwtWith(`{"exp":1700000000}`))
	f.Add("a.b.c")
	f.Add(jwtWith(`{"exp":1e308}`))
	f.Fuzz(func(t *testing.T, token string) {
		exp, err := JWTExpiry(token)
		if err != nil && !exp.IsZero() {
			t.Fatalf("an error must come with the zero time, got %v", exp)
		}
	})
}
