package main

// The Mozilla root certificates, used only where the system has none (a
// FROM scratch image, a distroless base without ca-certificates), so HTTPS
// to registries and Helm repositories works with no CA bundle on disk.
import _ "golang.org/x/crypto/x509roots/fallback"
