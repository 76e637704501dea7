package deploycheck

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of a kustomize Kustomization the manifests use.
// It is decoded strictly too, so a misspelt key fails the test.
type kustomization struct {
	APIVersion         string         `json:"apiVersion"`
	Kind               string         `json:"kind"`
	Namespace          string         `json:"namespace"`
	Resources          []string       `json:"resources"`
	ConfigMapGenerator []generator    `json:"configMapGenerator"`
	Images             []imageRewrite `json:"images"`
}

type generator struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
}

type imageRewrite struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
}

// deployment is deploy/kubernetes decoded: the kustomization and every
// resource it lists, each as its Kubernetes API type.
type deployment struct {
	dir     string
	kust    kustomization
	objects map[string]any // resource file -> typed object
}

// repoRoot returns the repository root: the directory that holds go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's directory")
		}
		dir = parent
	}
}

// decodeStrict decodes one YAML document into out, failing on unknown or
// duplicate fields, as `kubectl apply --validate=strict` does.
func decodeStrict(t *testing.T, file string, out any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("\n---")) {
		t.Fatalf("%s: one object per file, please", file)
	}
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// newObject returns an empty typed object for a kind the deployment may use.
func newObject(kind string) (any, bool) {
	switch kind {
	case "Namespace":
		return &corev1.Namespace{}, true
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "ConfigMap":
		return &corev1.ConfigMap{}, true
	case "CronJob":
		return &batchv1.CronJob{}, true
	case "Job":
		return &batchv1.Job{}, true
	}
	return nil, false
}

func loadDeployment(t *testing.T) deployment {
	t.Helper()
	d := deployment{dir: filepath.Join(repoRoot(t), "deploy", "kubernetes"), objects: map[string]any{}}
	decodeStrict(t, filepath.Join(d.dir, "kustomization.yaml"), &d.kust)
	for _, res := range d.kust.Resources {
		file := filepath.Join(d.dir, res)
		var tm metav1.TypeMeta
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", res, err)
		}
		if err := yaml.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		obj, ok := newObject(tm.Kind)
		if !ok {
			t.Fatalf("%s: kind %q is not one the deployment is expected to hold", res, tm.Kind)
		}
		decodeStrict(t, file, obj)
		d.objects[res] = obj
	}
	return d
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	d := loadDeployment(t)
	if d.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || d.kust.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s", d.kust.APIVersion, d.kust.Kind)
	}
	listed := slices.Clone(d.kust.Resources)
	for _, g := range d.kust.ConfigMapGenerator {
		listed = append(listed, g.Files...)
	}
	files, err := filepath.Glob(filepath.Join(d.dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && !slices.Contains(listed, base) {
			t.Errorf("%s is neither a resource nor a generator file of kustomization.yaml", base)
		}
	}
}

// TestPodsAreRestricted checks every pod template against the restricted
// Pod Security Standard and the mounts flux-mirror needs.
func TestPodsAreRestricted(t *testing.T) {
	d := loadDeployment(t)
	pods := 0
	for res, obj := range d.objects {
		var spec *corev1.PodSpec
		switch o := obj.(type) {
		case *batchv1.CronJob:
			if o.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
				t.Errorf("%s: concurrencyPolicy is %q; two runs would race for the same tags, use Forbid", res, o.Spec.ConcurrencyPolicy)
			}
			spec = &o.Spec.JobTemplate.Spec.Template.Spec
		case *batchv1.Job:
			spec = &o.Spec.Template.Spec
		default:
			continue
		}
		pods++
		t.Run(res, func(t *testing.T) { checkPod(t, d, spec) })
	}
	if pods == 0 {
		t.Fatal("the deployment has no CronJob or Job")
	}
}

func checkPod(t *testing.T, d deployment, spec *corev1.PodSpec) {
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("the pod must run as a non-root user")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("the pod must use the RuntimeDefault seccomp profile")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("flux-mirror needs no Kubernetes API token: set automountServiceAccountToken: false")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("the container has no securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation must be false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem must be true")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Error("capabilities must drop ALL")
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("memory request and limit must be set")
	}
	if !slices.ContainsFunc(d.kust.Images, func(i imageRewrite) bool { return i.Name == c.Image }) {
		t.Errorf("image %q is not rewritten by the kustomization's images", c.Image)
	}
	mounts := map[string]corev1.Volume{} // mount path -> volume
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("volumeMount %s names no volume", m.Name)
			continue
		}
		mounts[m.MountPath] = v
	}
	if len(c.Args) < 2 || c.Args[0] != "sync" {
		t.Fatalf("args %q: want sync CONFIG ...", c.Args)
	}
	cfg := c.Args[1]
	v, ok := mounts[filepath.Dir(cfg)]
	switch {
	case !ok || v.ConfigMap == nil:
		t.Errorf("the config %s is not in a mounted ConfigMap", cfg)
	case !slices.ContainsFunc(d.kust.ConfigMapGenerator, func(g generator) bool {
		return g.Name == v.ConfigMap.Name && slices.Contains(g.Files, filepath.Base(cfg))
	}):
		t.Errorf("ConfigMap %s with key %s is not generated by the kustomization", v.ConfigMap.Name, filepath.Base(cfg))
	}
	dockerConfig := ""
	for _, e := range c.Env {
		if e.Name == "DOCKER_CONFIG" {
			dockerConfig = e.Value
		}
	}
	v, ok = mounts[dockerConfig]
	if !ok || v.Secret == nil {
		t.Fatalf("DOCKER_CONFIG %q is not a mounted Secret", dockerConfig)
	}
	want := []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}}
	if !slices.Equal(v.Secret.Items, want) {
		t.Errorf("the Secret's items are %v; mount the %s key that `flux-mirror secret` writes as config.json", v.Secret.Items, corev1.DockerConfigJsonKey)
	}
	for path, v := range mounts {
		if v.EmptyDir == nil && !strings.HasPrefix(path, "/etc/") && !isReportVolume(c, path, v) {
			t.Errorf("mount %s: only scratch space (emptyDir) and the --report-file directory (a PersistentVolumeClaim) belong outside /etc", path)
		}
	}
}
