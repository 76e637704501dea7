package kubesecret

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"
)

// apiServer is a loopback server speaking the Kubernetes REST API for
// core/v1 Secrets: GET, POST and PUT on /api/v1/namespaces/<ns>/secrets and
// .../secrets/<name>, bearer-token authentication, resourceVersion
// optimistic concurrency, immutability and type checks, and metav1.Status
// bodies built with apimachinery's own error constructors, the way
// kube-apiserver answers.
type apiServer struct {
	*httptest.Server
	token string

	mu      sync.Mutex
	secrets map[string]*corev1.Secret // "<ns>/<name>"
	rv      int
	log     []string // "<METHOD> <path> <status>"
	// beforeWrite, when set, runs under the lock before a POST or PUT is
	// handled, to play a concurrent writer.
	beforeWrite func(method string, s *apiServer)
}

// newAPIServer starts a TLS API server that requires the bearer token.
func newAPIServer(t *testing.T, token string) *apiServer {
	t.Helper()
	s := &apiServer{token: token, secrets: map[string]*corev1.Secret{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Handshakes a test fails on purpose would log to stderr.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

var groupResource = schema.GroupResource{Resource: "secrets"}

func (s *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	defer func() { s.log = append(s.log, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, rec.code)) }()

	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeStatus(rec, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || len(parts) > 3 || parts[1] != "secrets" || parts[0] == "" {
		writeStatus(rec, apierrors.NewNotFound(schema.GroupResource{}, r.URL.Path))
		return
	}
	ns, name := parts[0], ""
	if len(parts) == 3 {
		name = parts[2]
	}

	switch {
	case r.Method == http.MethodGet && name != "":
		sec, ok := s.secrets[ns+"/"+name]
		if !ok {
			writeStatus(rec, apierrors.NewNotFound(groupResource, name))
			return
		}
		writeObject(rec, http.StatusOK, sec)
	case r.Method == http.MethodPost && name == "":
		in, err := decodeSecret(r)
		if err != nil {
			writeStatus(rec, apierrors.NewBadRequest(err.Error()))
			return
		}
		if s.beforeWrite != nil {
			s.beforeWrite(r.Method, s)
		}
		if in.Namespace != "" && in.Namespace != ns {
			writeStatus(rec, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
		if in.ResourceVersion != "" {
			writeStatus(rec, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created"))
			return
		}
		if _, exists := s.secrets[ns+"/"+in.Name]; exists {
			writeStatus(rec, apierrors.NewAlreadyExists(groupResource, in.Name))
			return
		}
		in.Namespace = ns
		in.UID = types.UID("uid-" + in.Name)
		in.CreationTimestamp = metav1.NewTime(time.Unix(1700000000, 0))
		s.store(in)
		writeObject(rec, http.StatusCreated, in)
	case r.Method == http.MethodPut && name != "":
		in, err := decodeSecret(r)
		if err != nil {
			writeStatus(rec, apierrors.NewBadRequest(err.Error()))
			return
		}
		if s.beforeWrite != nil {
			s.beforeWrite(r.Method, s)
		}
		cur, ok := s.secrets[ns+"/"+name]
		if !ok {
			writeStatus(rec, apierrors.NewNotFound(groupResource, name))
			return
		}
		if in.ResourceVersion != cur.ResourceVersion {
			writeStatus(rec, apierrors.NewConflict(groupResource, name,
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again")))
			return
		}
		var errs field.ErrorList
		if in.Type != cur.Type {
			errs = append(errs, field.Invalid(field.NewPath("type"), in.Type, "field is immutable"))
		}
		if cur.Immutable != nil && *cur.Immutable && !reflect.DeepEqual(in.Data, cur.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if len(errs) > 0 {
			writeStatus(rec, apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, name, errs))
			return
		}
		in.Namespace, in.UID, in.CreationTimestamp = ns, cur.UID, cur.CreationTimestamp
		s.store(in)
		writeObject(rec, http.StatusOK, in)
	default:
		writeStatus(rec, apierrors.NewMethodNotSupported(groupResource, r.Method))
	}
}

// store saves a Secret under a new resourceVersion. Callers hold mu.
func (s *apiServer) store(sec *corev1.Secret) {
	s.rv++
	sec.ResourceVersion = strconv.Itoa(s.rv)
	s.secrets[sec.Namespace+"/"+sec.Name] = sec.DeepCopy()
}

// seed stores a Secret as if created earlier.
func (s *apiServer) seed(sec *corev1.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(sec.DeepCopy())
}

// get returns a stored Secret.
func (s *apiServer) get(ns, name string) *corev1.Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec, ok := s.secrets[ns+"/"+name]; ok {
		return sec.DeepCopy()
	}
	return nil
}

// requests returns the request log.
func (s *apiServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// decodeSecret decodes a request body in whatever encoding client-go sent
// (JSON by default; YAML or protobuf also decode) with the client scheme.
func decodeSecret(r *http.Request) (*corev1.Secret, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decode body: %w", err)
	}
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, fmt.Errorf("body is a %v, not a v1 Secret", gvk)
	}
	return sec, nil
}

func writeObject(w http.ResponseWriter, code int, obj runtime.Object) {
	b, err := runtime.Encode(scheme.Codecs.LegacyCodec(corev1.SchemeGroupVersion), obj)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(b)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
