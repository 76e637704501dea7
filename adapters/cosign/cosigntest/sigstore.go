package cosigntest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/types"
	dsseentry "github.com/sigstore/rekor/pkg/types/dsse"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // registers the dsse v0.0.1 entry type
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // registers the hashedrekord v0.0.1 entry type
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media types and in-toto constants of cosign v3 signatures.
const (
	// BundleMediaType is the media type of the v0.3 bundles Sign produces,
	// also used as the referrer's artifactType and layer media type.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the in-toto predicate type of a cosign v3 image
	// signature.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
)

// Default URLs the test instance writes into its trusted root. They are
// identifiers only; nothing is served there.
const (
	FulcioURL = "https://fulcio.cosigntest.invalid"
	RekorURL  = "https://rekor.cosigntest.invalid"
	CTLogURL  = "https://ctfe.cosigntest.invalid"
)

// rekorOrigin is the host part of the checkpoint origin ("<host> - <tree id>").
const rekorOrigin = "rekor.cosigntest.invalid"

// Option configures New.
type Option func(*config)

type config struct {
	validFrom, validUntil time.Time
	noCTLog               bool
}

// WithValidity sets the window in which the CA certificates, the trusted
// root's authorities and the logs' keys are valid. Signing times passed to
// Sign must fall inside it. The default is ten years either side of now.
func WithValidity(from, until time.Time) Option {
	return func(c *config) { c.validFrom, c.validUntil = from, until }
}

// WithoutCTLog leaves the certificate-transparency log out of the trusted
// root, as in private Sigstore deployments without CT. Certificates still
// carry an SCT unless the SignRequest says otherwise.
func WithoutCTLog() Option {
	return func(c *config) { c.noCTLog = true }
}

// Sigstore is an offline Sigstore instance: CA, CT log and transparency log.
// It is safe for concurrent use.
type Sigstore struct {
	cfg config

	rootCert  *x509.Certificate
	interCert *x509.Certificate
	interKey  *ecdsa.PrivateKey

	ctKey    *ecdsa.PrivateKey
	ctLogID  [32]byte
	rekorKey *ecdsa.PrivateKey
	rekorID  [32]byte
	treeID   int64

	mu   sync.Mutex
	tree *testonly.Tree

	trustedJSON []byte
	trusted     *root.TrustedRoot
}

// New creates a Sigstore instance with fresh keys. It fails the test on any
// error.
func New(t testing.TB, opts ...Option) *Sigstore {
	t.Helper()
	s, err := newSigstore(opts...)
	if err != nil {
		t.Fatalf("cosigntest: %v", err)
	}
	return s
}

func newSigstore(opts ...Option) (*Sigstore, error) {
	now := time.Now()
	cfg := config{validFrom: now.AddDate(-10, 0, 0), validUntil: now.AddDate(10, 0, 0)}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.validUntil.After(cfg.validFrom) {
		return nil, fmt.Errorf("validity window %s..%s is empty", cfg.validFrom, cfg.validUntil)
	}
	s := &Sigstore{cfg: cfg, tree: testonly.New(rfc6962.DefaultHasher)}

	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "cosigntest-root", Organization: []string{"cosigntest"}},
		NotBefore:             cfg.validFrom,
		NotAfter:              cfg.validUntil,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if s.rootCert, err = createCert(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey); err != nil {
		return nil, fmt.Errorf("create root CA: %w", err)
	}

	if s.interKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "cosigntest-intermediate", Organization: []string{"cosigntest"}},
		NotBefore:             cfg.validFrom,
		NotAfter:              cfg.validUntil,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if s.interCert, err = createCert(interTmpl, s.rootCert, &s.interKey.PublicKey, rootKey); err != nil {
		return nil, fmt.Errorf("create intermediate CA: %w", err)
	}

	if s.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.ctLogID, err = keyID(&s.ctKey.PublicKey); err != nil {
		return nil, err
	}
	if s.rekorKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.rekorID, err = keyID(&s.rekorKey.PublicKey); err != nil {
		return nil, err
	}
	s.treeID = randomSerial().Int64()%1_000_000_000 + 1

	// Earlier entries of other signers, so that inclusion proofs have a path.
	for i := 0; i < 5; i++ {
		s.tree.AppendData([]byte(fmt.Sprintf("cosigntest earlier entry %d", i)))
	}

	if err := s.buildTrustedRoot(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sigstore) buildTrustedRoot() error {
	ca := &root.FulcioCertificateAuthority{
		Root:                s.rootCert,
		Intermediates:       []*x509.Certificate{s.interCert},
		ValidityPeriodStart: s.cfg.validFrom,
		URI:                 FulcioURL,
	}
	rekor := map[string]*root.TransparencyLog{
		hex.EncodeToString(s.rekorID[:]): {
			BaseURL:             RekorURL,
			ID:                  s.rekorID[:],
			ValidityPeriodStart: s.cfg.validFrom,
			HashFunc:            crypto.SHA256,
			PublicKey:           &s.rekorKey.PublicKey,
			SignatureHashFunc:   crypto.SHA256,
		},
	}
	ctlogs := map[string]*root.TransparencyLog{}
	if !s.cfg.noCTLog {
		ctlogs[hex.EncodeToString(s.ctLogID[:])] = &root.TransparencyLog{
			BaseURL:             CTLogURL,
			ID:                  s.ctLogID[:],
			ValidityPeriodStart: s.cfg.validFrom,
			HashFunc:            crypto.SHA256,
			PublicKey:           &s.ctKey.PublicKey,
			SignatureHashFunc:   crypto.SHA256,
		}
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{ca}, ctlogs, nil, rekor)
	if err != nil {
		return fmt.Errorf("build trusted root: %w", err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshal trusted root: %w", err)
	}
	// Reparse, so that TrustedMaterial is exactly what a trusted_root.json
	// file yields.
	if s.trusted, err = root.NewTrustedRootFromJSON(b); err != nil {
		return fmt.Errorf("reparse trusted root: %w", err)
	}
	s.trustedJSON = b
	return nil
}

// TrustedRootJSON returns the instance's trusted_root.json
// (application/vnd.dev.sigstore.trustedroot+json;version=0.1).
func (s *Sigstore) TrustedRootJSON() []byte { return append([]byte(nil), s.trustedJSON...) }

// TrustedMaterial returns the instance's trusted root, parsed from
// TrustedRootJSON.
func (s *Sigstore) TrustedMaterial() root.TrustedMaterial { return s.trusted }

// WriteTrustedRoot writes TrustedRootJSON to a file in a test temporary
// directory and returns its path.
func (s *Sigstore) WriteTrustedRoot(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, s.trustedJSON, 0o600); err != nil {
		t.Fatalf("cosigntest: write trusted root: %v", err)
	}
	return p
}

// Kind selects the content of a bundle.
type Kind int

// Bundle contents.
const (
	// KindSignature is a cosign v3 image signature: a DSSE envelope holding
	// an in-toto statement with predicate type SignPredicateType whose
	// subject is the digest.
	KindSignature Kind = iota
	// KindMessageSignature is a message signature whose message digest is
	// the digest (a hashedrekord entry), as signing the manifest bytes
	// as a blob produces.
	KindMessageSignature
	// KindAttestation is a DSSE in-toto statement about the digest with the
	// SignRequest's PredicateType, like cosign attest.
	KindAttestation
)

// SignRequest describes one bundle to produce.
type SignRequest struct {
	// Digest is the signed manifest digest, "sha256:<hex>".
	Digest string
	// Issuer is the OIDC issuer written into the certificate
	// (extensions 1.3.6.1.4.1.57264.1.1 and .1.8).
	Issuer string
	// Subject is the certificate SAN: a URI if it contains "://", else an
	// email address.
	Subject string
	// At is the signing time: the certificate is issued a minute before,
	// valid for ten minutes, and At is the Rekor integrated time.
	At time.Time
	// Kind is the bundle content; the default is KindSignature.
	Kind Kind
	// PredicateType is the predicate type of a KindAttestation statement.
	PredicateType string
	// SubjectName is the in-toto subject name; the default is "artifact".
	SubjectName string
	// NoSCT issues the certificate without an embedded SCT.
	NoSCT bool
}

// Sign returns the JSON of a cosign v3 signature bundle over digest, by the
// given OIDC identity, logged at time at. It fails the test on any error.
func (s *Sigstore) Sign(t testing.TB, digest, issuer, subject string, at time.Time) []byte {
	t.Helper()
	return s.SignRequest(t, SignRequest{Digest: digest, Issuer: issuer, Subject: subject, At: at})
}

// SignRequest returns the JSON of a bundle described by req. It fails the
// test on any error.
func (s *Sigstore) SignRequest(t testing.TB, req SignRequest) []byte {
	t.Helper()
	b, err := s.sign(req)
	if err != nil {
		t.Fatalf("cosigntest: sign %s: %v", req.Digest, err)
	}
	return b
}

func (s *Sigstore) sign(req SignRequest) ([]byte, error) {
	alg, hexDigest, ok := strings.Cut(req.Digest, ":")
	if !ok || alg != "sha256" || len(hexDigest) != 64 {
		return nil, fmt.Errorf("digest %q is not sha256:<64 hex>", req.Digest)
	}
	rawDigest, err := hex.DecodeString(hexDigest)
	if err != nil {
		return nil, fmt.Errorf("digest %q: %w", req.Digest, err)
	}
	if req.At.IsZero() {
		return nil, fmt.Errorf("signing time is zero")
	}
	if req.At.Before(s.cfg.validFrom) || req.At.After(s.cfg.validUntil) {
		return nil, fmt.Errorf("signing time %s is outside the instance's validity %s..%s", req.At, s.cfg.validFrom, s.cfg.validUntil)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := s.issueLeaf(req, &leafKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})

	pb := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{
				Certificate: &protocommon.X509Certificate{RawBytes: leaf.Raw},
			},
		},
	}

	var body []byte
	var kind string
	switch req.Kind {
	case KindSignature, KindAttestation:
		predicateType := SignPredicateType
		if req.Kind == KindAttestation {
			if req.PredicateType == "" {
				return nil, fmt.Errorf("attestation without a predicate type")
			}
			predicateType = req.PredicateType
		}
		name := req.SubjectName
		if name == "" {
			name = "artifact"
		}
		statement, err := json.Marshal(map[string]any{
			"_type":         "https://in-toto.io/Statement/v1",
			"subject":       []any{map[string]any{"name": name, "digest": map[string]string{"sha256": hexDigest}}},
			"predicateType": predicateType,
			"predicate":     map[string]any{},
		})
		if err != nil {
			return nil, err
		}
		pae := ssldsse.PAE(InTotoPayloadType, statement)
		h := sha256.Sum256(pae)
		sig, err := ecdsa.SignASN1(rand.Reader, leafKey, h[:])
		if err != nil {
			return nil, err
		}
		env := ssldsse.Envelope{
			PayloadType: InTotoPayloadType,
			Payload:     base64.StdEncoding.EncodeToString(statement),
			Signatures:  []ssldsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
		}
		envJSON, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		body, err = canonicalEntry(dsseentry.KIND, types.ArtifactProperties{
			ArtifactBytes:  envJSON,
			PublicKeyBytes: [][]byte{leafPEM},
			PKIFormat:      "x509",
		})
		if err != nil {
			return nil, fmt.Errorf("build dsse entry: %w", err)
		}
		kind = dsseentry.KIND
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     statement,
			PayloadType: InTotoPayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}}
	case KindMessageSignature:
		sig, err := ecdsa.SignASN1(rand.Reader, leafKey, rawDigest)
		if err != nil {
			return nil, err
		}
		body, err = canonicalEntry(hashedrekord.KIND, types.ArtifactProperties{
			ArtifactHash:   req.Digest,
			SignatureBytes: sig,
			PublicKeyBytes: [][]byte{leafPEM},
			PKIFormat:      "x509",
		})
		if err != nil {
			return nil, fmt.Errorf("build hashedrekord entry: %w", err)
		}
		kind = hashedrekord.KIND
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: rawDigest},
			Signature:     sig,
		}}
	default:
		return nil, fmt.Errorf("unknown bundle kind %d", req.Kind)
	}

	tle, err := s.logEntry(kind, body, req.At)
	if err != nil {
		return nil, fmt.Errorf("log entry: %w", err)
	}
	pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	return protojson.Marshal(pb)
}

// issueLeaf issues a Fulcio-like code-signing certificate, valid from a
// minute before req.At for ten minutes, with an embedded SCT as Fulcio does:
// the CT log signs the precertificate, whose poison extension the final
// certificate replaces with the SCT list.
func (s *Sigstore) issueLeaf(req SignRequest, pub *ecdsa.PublicKey) (*x509.Certificate, error) {
	issuerV2, err := asn1.MarshalWithParams(req.Issuer, "utf8")
	if err != nil {
		return nil, err
	}
	notBefore := req.At.Add(-time.Minute).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(req.Issuer)},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		},
	}
	if strings.Contains(req.Subject, "://") {
		u, err := url.Parse(req.Subject)
		if err != nil {
			return nil, fmt.Errorf("subject %q: %w", req.Subject, err)
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{req.Subject}
	}
	if req.NoSCT {
		return createCert(tmpl, s.interCert, pub, s.interKey)
	}

	poison := pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTPoison), Critical: true, Value: asn1.NullBytes}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, poison)
	precert, err := createCert(tmpl, s.interCert, pub, s.interKey)
	if err != nil {
		return nil, fmt.Errorf("precertificate: %w", err)
	}
	sct, err := s.signSCT(precert, notBefore)
	if err != nil {
		return nil, fmt.Errorf("sct: %w", err)
	}
	list, err := x509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{sct})
	if err != nil {
		return nil, err
	}
	listBytes, err := cttls.Marshal(*list)
	if err != nil {
		return nil, err
	}
	extValue, err := asn1.Marshal(listBytes)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions[len(tmpl.ExtraExtensions)-1] = pkix.Extension{
		Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: extValue,
	}
	return createCert(tmpl, s.interCert, pub, s.interKey)
}

func (s *Sigstore) signSCT(precert *x509.Certificate, at time.Time) (*ct.SignedCertificateTimestamp, error) {
	pre, err := ctx509.ParseCertificate(precert.Raw)
	if err != nil && pre == nil {
		return nil, fmt.Errorf("parse precertificate: %w", err)
	}
	issuer, err := ctx509.ParseCertificate(s.interCert.Raw)
	if err != nil && issuer == nil {
		return nil, fmt.Errorf("parse issuer: %w", err)
	}
	ts := uint64(at.UnixMilli())
	leaf, err := ct.MerkleTreeLeafFromChain([]*ctx509.Certificate{pre, issuer}, ct.PrecertLogEntryType, ts)
	if err != nil {
		return nil, err
	}
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: s.ctLogID},
		Timestamp:  ts,
	}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: *leaf})
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctKey, h[:])
	if err != nil {
		return nil, err
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}
	return &sct, nil
}

// logEntry appends body to the log at integrated time at and returns the
// entry with its signed entry timestamp, inclusion proof and checkpoint.
func (s *Sigstore) logEntry(kind string, body []byte, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	s.mu.Lock()
	index := int64(s.tree.Size())
	s.tree.AppendData(body)
	size := s.tree.Size()
	rootHash := s.tree.Hash()
	proof, err := s.tree.InclusionProof(uint64(index), size)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}

	signer, err := signature.LoadECDSASignerVerifier(s.rekorKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	checkpoint, err := rekorutil.CreateAndSignCheckpoint(context.Background(), rekorOrigin, s.treeID, size, rootHash, signer)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}

	payload, err := json.Marshal(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: at.Unix(),
		LogIndex:       index,
		LogID:          hex.EncodeToString(s.rekorID[:]),
	})
	if err != nil {
		return nil, err
	}
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(canonical)
	set, err := ecdsa.SignASN1(rand.Reader, s.rekorKey, h[:])
	if err != nil {
		return nil, err
	}

	return &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: s.rekorID[:]},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: "0.0.1"},
		IntegratedTime:    at.Unix(),
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: body,
		InclusionProof: &protorekor.InclusionProof{
			LogIndex:   index,
			RootHash:   rootHash,
			TreeSize:   int64(size),
			Hashes:     proof,
			Checkpoint: &protorekor.Checkpoint{Envelope: string(checkpoint)},
		},
	}, nil
}

// canonicalEntry builds the canonicalized Rekor v1 body (version 0.0.1) of
// an entry of the given kind, as the Rekor server stores it.
func canonicalEntry(kind string, props types.ArtifactProperties) ([]byte, error) {
	ctx := context.Background()
	proposed, err := types.NewProposedEntry(ctx, kind, "0.0.1", props)
	if err != nil {
		return nil, err
	}
	entry, err := types.CreateVersionedEntry(proposed)
	if err != nil {
		return nil, err
	}
	return types.CanonicalizeEntry(ctx, entry)
}

func createCert(tmpl, parent *x509.Certificate, pub any, priv crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func keyID(pub crypto.PublicKey) ([32]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}
