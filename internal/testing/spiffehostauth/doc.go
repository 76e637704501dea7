// Package spiffehostauth tests the SPIFFE provider through hostauth, the
// way the CLI wires them: mTLS and server authentication on the X.509
// source's SVIDs and bundles, their rotation, and JWT-SVIDs minted for a
// host's credential. It is a test-only module, so that neither product
// module lists the other (or the test gateway) in its go.mod.
package spiffehostauth
