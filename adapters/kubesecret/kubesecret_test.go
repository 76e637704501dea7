package kubesecret

import (
	"context"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

const (
	token   = "k8s-token-3f9a"
	payload = `{"auths":{"ghcr.io":{"username":"alice","password":"pw","auth":"YWxpY2U6cHc="}}}`
)

// isolate clears everything kubectl would otherwise pick up from the machine.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	// clientcmd computes ~/.kube/config once, at init, from $HOME.
	old := clientcmd.RecommendedHomeFile
	clientcmd.RecommendedHomeFile = filepath.Join(home, ".kube", "config")
	t.Cleanup(func() { clientcmd.RecommendedHomeFile = old })
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("POD_NAMESPACE", "")
	return home
}

// writeKubeconfig writes a kubeconfig whose current context points at a
// dead server, with contexts for srv: "test" (namespace team-a),
// "test-no-ns" (no namespace) and "wrong-user" (a rejected token).
func writeKubeconfig(t *testing.T, srv *apiServer) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: ca}
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: ca}
	cfg.AuthInfos["tester"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{Token: "wrong-token"}
	cfg.Contexts["dead"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "tester", Namespace: "dev-ns"}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "tester", Namespace: "team-a"}
	cfg.Contexts["test-no-ns"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "tester"}
	cfg.Contexts["wrong-user"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "nobody", Namespace: "team-a"}
	cfg.CurrentContext = "dead"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConnect resolves connections and namespaces like kubectl and proves
// each by a request that reaches the loopback API server.
func TestConnect(t *testing.T) {
	srv := newAPIServer(t, token)
	kubeconfig := writeKubeconfig(t, srv)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		opts       Options
		kubeenv    bool // pass the kubeconfig through $KUBECONFIG instead
		homeconfig bool // put it at ~/.kube/config
		wantNS     string
	}{
		{name: "--context", opts: Options{Kubeconfig: kubeconfig, Context: "test"}, wantNS: "team-a"},
		{name: "--context and -n", opts: Options{Kubeconfig: kubeconfig, Context: "test", Namespace: "other"}, wantNS: "other"},
		{name: "context without namespace", opts: Options{Kubeconfig: kubeconfig, Context: "test-no-ns"}, wantNS: "default"},
		{name: "$KUBECONFIG", opts: Options{Context: "test"}, kubeenv: true, wantNS: "team-a"},
		{name: "~/.kube/config", opts: Options{Context: "test"}, homeconfig: true, wantNS: "team-a"},
		{name: "--server overrides the current context's cluster", opts: Options{Kubeconfig: kubeconfig, Server: srv.URL, InsecureSkipTLSVerify: true}, wantNS: "dev-ns"},
		{name: "--cluster and --user", opts: Options{Kubeconfig: kubeconfig, Cluster: "test", User: "tester"}, wantNS: "dev-ns"},
		{name: "flags only, insecure", opts: Options{Server: srv.URL, Token: token, InsecureSkipTLSVerify: true}, wantNS: "default"},
		{name: "flags only, CA file", opts: Options{Server: srv.URL, Token: token, CertificateAuthority: caFile, Namespace: "ci"}, wantNS: "ci"},
		{name: "--token overrides the context's user", opts: Options{Kubeconfig: kubeconfig, Context: "wrong-user", Token: token}, wantNS: "team-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := isolate(t)
			if tt.kubeenv {
				t.Setenv("KUBECONFIG", kubeconfig)
			}
			if tt.homeconfig {
				b, _ := os.ReadFile(kubeconfig)
				_ = os.MkdirAll(filepath.Join(home, ".kube"), 0o700)
				if err := os.WriteFile(filepath.Join(home, ".kube", "config"), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			client, ns, err := Connect(tt.opts)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if ns != tt.wantNS {
				t.Errorf("namespace = %q, want %q", ns, tt.wantNS)
			}
			if got, err := ResolveNamespace(tt.opts); err != nil || got != tt.wantNS {
				t.Errorf("ResolveNamespace() = %q, %v", got, err)
			}
			_, err = client.get(context.Background(), ns, "probe")
			if !apierrors.IsNotFound(err) {
				t.Fatalf("GET through the connection = %v, want NotFound from the loopback server", err)
			}
			if reqs := srv.requests(); reqs[len(reqs)-1] != "GET /api/v1/namespaces/"+tt.wantNS+"/secrets/probe 404" {
				t.Errorf("last request %q", reqs[len(reqs)-1])
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	srv := newAPIServer(t, token)
	kubeconfig := writeKubeconfig(t, srv)
	t.Run("nothing configured", func(t *testing.T) {
		isolate(t)
		_, _, err := Connect(Options{})
		if err == nil || !strings.Contains(err.Error(), "pass --kubeconfig or --server") {
			t.Errorf("Connect = %v", err)
		}
		// Export works offline: the namespace falls back to "default".
		if ns, err := ResolveNamespace(Options{}); err != nil || ns != "default" {
			t.Errorf("ResolveNamespace() = %q, %v", ns, err)
		}
	})
	t.Run("unknown context", func(t *testing.T) {
		isolate(t)
		_, _, err := Connect(Options{Kubeconfig: kubeconfig, Context: "nope"})
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("Connect = %v, want an error naming the context", err)
		}
	})
	t.Run("missing kubeconfig", func(t *testing.T) {
		isolate(t)
		missing := filepath.Join(t.TempDir(), "nope.yaml")
		_, _, err := Connect(Options{Kubeconfig: missing})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("Connect = %v, want an error naming the file", err)
		}
	})
	t.Run("rejected token", func(t *testing.T) {
		isolate(t)
		client, ns, err := Connect(Options{Kubeconfig: kubeconfig, Context: "wrong-user"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Apply(context.Background(), client, Build("pull", ns, []byte(payload)), false)
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("Apply = %v, want Unauthorized", err)
		}
		if strings.Contains(err.Error(), "wrong-token") {
			t.Errorf("error leaks the token: %v", err)
		}
	})
	t.Run("untrusted server certificate", func(t *testing.T) {
		isolate(t)
		client, ns, err := Connect(Options{Server: srv.URL, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Apply(context.Background(), client, Build("pull", ns, []byte(payload)), false)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Apply = %v, want a certificate error", err)
		}
	})
}

// connect returns a client for the "test" context.
func connect(t *testing.T, srv *apiServer) (clientNS string, apply func(*corev1.Secret, bool) (Action, error)) {
	t.Helper()
	isolate(t)
	client, ns, err := Connect(Options{Kubeconfig: writeKubeconfig(t, srv), Context: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ns, func(s *corev1.Secret, createOnly bool) (Action, error) {
		return Apply(context.Background(), client, s, createOnly)
	}
}

func TestApplyCreates(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	want := Build("regcred", ns, []byte(payload))
	want.Labels = map[string]string{"app.kubernetes.io/managed-by": "flux-mirror"}

	got, err := apply(want, false)
	if err != nil || got != Created {
		t.Fatalf("Apply = %q, %v; want created", got, err)
	}
	sec := srv.get("team-a", "regcred")
	if sec == nil {
		t.Fatal("secret not stored")
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson || string(sec.Data[".dockerconfigjson"]) != payload || len(sec.Data) != 1 {
		t.Errorf("stored %v %q", sec.Type, sec.Data)
	}
	if !reflect.DeepEqual(sec.Labels, want.Labels) {
		t.Errorf("labels %v", sec.Labels)
	}
	if reqs := srv.requests(); !slices.Equal(reqs, []string{
		"GET /api/v1/namespaces/team-a/secrets/regcred 404",
		"POST /api/v1/namespaces/team-a/secrets 201",
	}) {
		t.Errorf("requests %v", reqs)
	}
}

func TestApplyReplacesKeepingMetadata(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	immutable := false
	srv.seed(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "regcred", Namespace: "team-a",
			Labels:          map[string]string{"team": "a", "tier": "old"},
			Annotations:     map[string]string{"owner": "ops", "kustomize.toolkit.fluxcd.io/reconcile": "disabled"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "u1"}},
		},
		Type:      corev1.SecretTypeDockerConfigJson,
		Immutable: &immutable,
		Data:      map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`), "stale": []byte("x")},
	})
	before := srv.get("team-a", "regcred")

	want := Build("regcred", ns, []byte(payload))
	want.Labels = map[string]string{"tier": "new"}
	want.Annotations = map[string]string{"mirror": "yes"}
	got, err := apply(want, false)
	if err != nil || got != Replaced {
		t.Fatalf("Apply = %q, %v; want replaced", got, err)
	}
	sec := srv.get("team-a", "regcred")
	if want := map[string]string{"team": "a", "tier": "new"}; !reflect.DeepEqual(sec.Labels, want) {
		t.Errorf("labels %v, want %v", sec.Labels, want)
	}
	if want := map[string]string{"owner": "ops", "kustomize.toolkit.fluxcd.io/reconcile": "disabled", "mirror": "yes"}; !reflect.DeepEqual(sec.Annotations, want) {
		t.Errorf("annotations %v, want %v", sec.Annotations, want)
	}
	if !reflect.DeepEqual(sec.OwnerReferences, before.OwnerReferences) || sec.UID != before.UID {
		t.Errorf("metadata lost: %+v", sec.ObjectMeta)
	}
	if want := map[string][]byte{".dockerconfigjson": []byte(payload)}; !reflect.DeepEqual(sec.Data, want) {
		t.Errorf("data %q", sec.Data)
	}
	if sec.ResourceVersion == before.ResourceVersion {
		t.Error("resourceVersion did not change")
	}
	if want.ResourceVersion != "" || want.Labels["team"] != "" {
		t.Error("Apply modified its argument")
	}
}

// TestApplyRetriesConflict: another writer changes the Secret between
// Apply's read and write, twice; the update's resourceVersion makes the
// server refuse it (409 Conflict), and Apply re-reads and keeps the other
// writer's change.
func TestApplyRetriesConflict(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	srv.seed(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "team-a"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{".dockerconfigjson": []byte(`{}`)},
	})
	writes := 0
	srv.beforeWrite = func(method string, s *apiServer) {
		writes++
		if writes > 2 {
			return
		}
		cur := s.secrets["team-a/regcred"].DeepCopy()
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		cur.Labels["other-writer"] = strings.Repeat("x", writes)
		s.store(cur)
	}
	got, err := apply(Build("regcred", ns, []byte(payload)), false)
	if err != nil || got != Replaced {
		t.Fatalf("Apply = %q, %v", got, err)
	}
	sec := srv.get("team-a", "regcred")
	if sec.Labels["other-writer"] != "xx" || string(sec.Data[".dockerconfigjson"]) != payload {
		t.Errorf("stored labels %v data %q", sec.Labels, sec.Data)
	}
	want := []string{
		"GET /api/v1/namespaces/team-a/secrets/regcred 200",
		"PUT /api/v1/namespaces/team-a/secrets/regcred 409",
		"GET /api/v1/namespaces/team-a/secrets/regcred 200",
		"PUT /api/v1/namespaces/team-a/secrets/regcred 409",
		"GET /api/v1/namespaces/team-a/secrets/regcred 200",
		"PUT /api/v1/namespaces/team-a/secrets/regcred 200",
	}
	if reqs := srv.requests(); !slices.Equal(reqs, want) {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(reqs, "\n"), strings.Join(want, "\n"))
	}

	// A writer that never stops exhausts the retries with a clear error.
	srv.beforeWrite = func(_ string, s *apiServer) { s.store(s.secrets["team-a/regcred"].DeepCopy()) }
	_, err = apply(Build("regcred", ns, []byte(payload)), false)
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "kept changing") {
		t.Errorf("Apply under endless conflicts = %v", err)
	}
}

// TestApplyCreateRace: the Secret appears between Apply's read and create;
// AlreadyExists is retried as a replace.
func TestApplyCreateRace(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	srv.beforeWrite = func(method string, s *apiServer) {
		if method == "POST" && s.secrets["team-a/regcred"] == nil {
			s.store(&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "team-a", Labels: map[string]string{"first": "them"}},
				Type:       corev1.SecretTypeDockerConfigJson,
			})
		}
	}
	got, err := apply(Build("regcred", ns, []byte(payload)), false)
	if err != nil || got != Replaced {
		t.Fatalf("Apply = %q, %v", got, err)
	}
	if sec := srv.get("team-a", "regcred"); sec.Labels["first"] != "them" || string(sec.Data[".dockerconfigjson"]) != payload {
		t.Errorf("stored %+v", sec)
	}
}

func TestApplyCreateOnly(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	if got, err := apply(Build("regcred", ns, []byte(payload)), true); err != nil || got != Created {
		t.Fatalf("Apply(create) = %q, %v", got, err)
	}
	before := srv.get("team-a", "regcred")
	_, err := apply(Build("regcred", ns, []byte(`{"auths":{}}`)), true)
	if err == nil || !strings.Contains(err.Error(), "secret team-a/regcred already exists; drop --create to replace it") {
		t.Errorf("Apply(create) on an existing Secret = %v", err)
	}
	if after := srv.get("team-a", "regcred"); after.ResourceVersion != before.ResourceVersion {
		t.Error("--create changed the existing Secret")
	}
	if reqs := srv.requests(); !slices.Equal(reqs, []string{
		"POST /api/v1/namespaces/team-a/secrets 201",
		"POST /api/v1/namespaces/team-a/secrets 409",
	}) {
		t.Errorf("requests %v", reqs)
	}
}

func TestApplyRefuses(t *testing.T) {
	srv := newAPIServer(t, token)
	ns, apply := connect(t, srv)
	yes := true
	srv.seed(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "team-a"}, Type: corev1.SecretTypeOpaque})
	srv.seed(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "frozen", Namespace: "team-a"}, Type: corev1.SecretTypeDockerConfigJson, Immutable: &yes})
	tests := []struct {
		name, secret, ns, want string
	}{
		{"other type", "opaque", ns, `secret team-a/opaque: it has type "Opaque", not "kubernetes.io/dockerconfigjson"`},
		{"immutable", "frozen", ns, "secret team-a/frozen: it is immutable; delete it to replace it"},
		{"bad name", "Reg_Cred", ns, `secret name "Reg_Cred": a lowercase RFC 1123 subdomain`},
		{"bad namespace", "regcred", "Team A", `namespace "Team A": a lowercase RFC 1123 label`},
		{"no namespace", "regcred", "", "namespace is empty"},
		{"no name", "", ns, "secret name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(srv.requests())
			_, err := apply(Build(tt.secret, tt.ns, []byte(payload)), false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply = %v, want %q", err, tt.want)
			}
			for _, r := range srv.requests()[n:] {
				if !strings.HasPrefix(r, "GET ") {
					t.Errorf("refused Apply wrote: %s", r)
				}
			}
		})
	}
}

func TestExportYAML(t *testing.T) {
	sec := Build("regcred", "team-a", []byte(payload))
	sec.Labels = map[string]string{"app": "x"}
	// Server-owned fields, as on a Secret read back from a cluster.
	sec.ResourceVersion, sec.UID, sec.Generation = "42", "uid-1", 3
	sec.CreationTimestamp = metav1.Now()
	sec.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	sec.TypeMeta = metav1.TypeMeta{}

	out, err := ExportYAML(sec)
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "status", "null"} {
		if strings.Contains(string(out), banned) {
			t.Errorf("export contains %q:\n%s", banned, out)
		}
	}
	want := "apiVersion: v1\n" +
		"data:\n  .dockerconfigjson: eyJhdXRocyI6eyJnaGNyLmlvIjp7InVzZXJuYW1lIjoiYWxpY2UiLCJwYXNzd29yZCI6InB3IiwiYXV0aCI6IllXeHBZMlU2Y0hjPSJ9fX0=\n" +
		"kind: Secret\n" +
		"metadata:\n  labels:\n    app: x\n  name: regcred\n  namespace: team-a\n" +
		"type: kubernetes.io/dockerconfigjson\n"
	if string(out) != want {
		t.Errorf("export =\n%s\nwant\n%s", out, want)
	}

	var back corev1.Secret
	if err := yaml.UnmarshalStrict(out, &back); err != nil {
		t.Fatalf("parse the export: %v", err)
	}
	if back.APIVersion != "v1" || back.Kind != "Secret" || back.Name != "regcred" || back.Namespace != "team-a" ||
		back.Type != corev1.SecretTypeDockerConfigJson || string(back.Data[corev1.DockerConfigJsonKey]) != payload ||
		back.Labels["app"] != "x" || back.ResourceVersion != "" {
		t.Errorf("parsed back %+v", back)
	}
	if sec.APIVersion != "" || sec.ResourceVersion != "42" {
		t.Error("ExportYAML modified its argument")
	}

	// Without a namespace the manifest takes the one kubectl applies it to.
	out, err = ExportYAML(Build("regcred", "", []byte(payload)))
	if err != nil || strings.Contains(string(out), "namespace") {
		t.Errorf("export without namespace = %s, %v", out, err)
	}
	if _, err := ExportYAML(Build("Bad!", "", nil)); err == nil {
		t.Error("ExportYAML accepted an invalid name")
	}
}

// FuzzExportYAML: every Secret ExportYAML accepts parses back to the same
// name, namespace and payload.
func FuzzExportYAML(f *testing.F) {
	f.Add("regcred", "team-a", []byte(payload))
	f.Add("a.b-c", "", []byte{0, 1, 2, 255})
	f.Fuzz(func(t *testing.T, name, ns string, data []byte) {
		out, err := ExportYAML(Build(name, ns, data))
		if err != nil {
			return
		}
		var back corev1.Secret
		if err := yaml.UnmarshalStrict(out, &back); err != nil {
			t.Fatalf("parse %s: %v", out, err)
		}
		if back.Name != name || back.Namespace != ns || string(back.Data[corev1.DockerConfigJsonKey]) != string(data) || back.Kind != "Secret" {
			t.Fatalf("round trip of %q/%q gave %+v", ns, name, back)
		}
	})
}
