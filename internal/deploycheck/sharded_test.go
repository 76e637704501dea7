package deploycheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// shardedKustomization is deploy/kubernetes/sharded/kustomization.yaml,
// decoded strictly: the base plus JSON patches.
type shardedKustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Path   string `json:"path"`
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
	} `json:"patches"`
}

// jsonPatchOp is one RFC 6902 operation; the overlay uses add and replace
// on object members only, which is all applyPatch implements.
type jsonPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// applyPatch applies ops to doc (JSON), failing on anything it does not
// implement rather than guessing.
func applyPatch(t *testing.T, doc []byte, ops []jsonPatchOp) []byte {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Op != "add" && op.Op != "replace" {
			t.Fatalf("patch op %q is not implemented by this test", op.Op)
		}
		keys := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		parent := root
		for _, k := range keys[:len(keys)-1] {
			next, ok := parent[k].(map[string]any)
			if !ok {
				t.Fatalf("patch path %s: %s is not an object", op.Path, k)
			}
			parent = next
		}
		last := keys[len(keys)-1]
		if _, ok := parent[last]; op.Op == "replace" && !ok {
			t.Fatalf("patch replaces %s, which the base does not have", op.Path)
		}
		var v any
		if err := json.Unmarshal(op.Value, &v); err != nil {
			t.Fatal(err)
		}
		parent[last] = v
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShardedOverlay renders deploy/kubernetes/sharded (the base with its
// JSON patch applied, decoded strictly into a CronJob) and checks that it is
// an Indexed Job whose pods each mirror their own shard and write their
// report to a shared volume, under the same pod rules as the base.
func TestShardedOverlay(t *testing.T) {
	base := loadDeployment(t)
	dir := filepath.Join(base.dir, "sharded")
	var k shardedKustomization
	decodeStrict(t, filepath.Join(dir, "kustomization.yaml"), &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" || k.Namespace != base.kust.Namespace {
		t.Errorf("sharded/kustomization.yaml is %s %s in namespace %q", k.APIVersion, k.Kind, k.Namespace)
	}
	if !slices.Contains(k.Resources, "../") {
		t.Fatalf("sharded/kustomization.yaml resources %v: want the base ../", k.Resources)
	}
	listed := slices.Clone(k.Resources)
	for _, p := range k.Patches {
		listed = append(listed, p.Path)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("sharded/%s is neither a resource nor a patch of its kustomization.yaml", b)
		}
	}
	var pvcs []*corev1.PersistentVolumeClaim
	for _, r := range k.Resources {
		if r == "../" {
			continue
		}
		pvc := &corev1.PersistentVolumeClaim{}
		decodeStrict(t, filepath.Join(dir, r), pvc)
		if pvc.Kind != "PersistentVolumeClaim" {
			t.Fatalf("sharded/%s: kind %q, want only PersistentVolumeClaims beside the base", r, pvc.Kind)
		}
		pvcs = append(pvcs, pvc)
	}

	cron, ok := base.objects["cronjob.yaml"].(*batchv1.CronJob)
	if !ok || len(k.Patches) != 1 || k.Patches[0].Target.Kind != "CronJob" || k.Patches[0].Target.Name != cron.Name {
		t.Fatalf("want one patch of the base CronJob %q, got %+v", cron.Name, k.Patches)
	}
	data, err := os.ReadFile(filepath.Join(dir, k.Patches[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	var ops []jsonPatchOp
	if err := yaml.UnmarshalStrict(data, &ops); err != nil {
		t.Fatalf("%s: %v", k.Patches[0].Path, err)
	}
	doc, err := json.Marshal(cron)
	if err != nil {
		t.Fatal(err)
	}
	var sharded batchv1.CronJob
	if err := yaml.UnmarshalStrict(applyPatch(t, doc, ops), &sharded); err != nil {
		t.Fatalf("the patched CronJob: %v", err)
	}

	job := sharded.Spec.JobTemplate.Spec
	if sharded.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q: two runs of the shards would race for the same tags", sharded.Spec.ConcurrencyPolicy)
	}
	if job.CompletionMode == nil || *job.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the job must be an Indexed Job (completionMode: Indexed): each pod needs its own index")
	}
	if job.Completions == nil || job.Parallelism == nil || *job.Completions != *job.Parallelism || *job.Completions < 2 {
		t.Fatalf("completions %v and parallelism %v must be equal and at least 2", job.Completions, job.Parallelism)
	}
	if job.BackoffLimitPerIndex == nil {
		t.Error("set backoffLimitPerIndex, so a failed shard is retried alone")
	}
	n := int(*job.Completions)
	spec := &job.Template.Spec
	t.Run("pod", func(t *testing.T) { checkPod(t, base, spec) })

	c := spec.Containers[0]
	if !slices.Contains(c.Args, "--shards="+strconv.Itoa(n)) {
		t.Errorf("args %q: want --shards=%d, as many shards as completions", c.Args, n)
	}
	var reportFile string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--report-file="); ok {
			reportFile = v
		}
	}
	indexVar := ""
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			indexVar = e.Name
		}
	}
	if indexVar == "" || !strings.Contains(reportFile, "$("+indexVar+")") {
		t.Fatalf("--report-file %q must name the shard's index through an env var from the job-completion-index annotation (got %q), or the shards overwrite one report", reportFile, indexVar)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var claim string
	for _, m := range c.VolumeMounts {
		if m.MountPath == filepath.Dir(reportFile) && !m.ReadOnly && volumes[m.Name].PersistentVolumeClaim != nil {
			claim = volumes[m.Name].PersistentVolumeClaim.ClaimName
		}
	}
	if !slices.ContainsFunc(pvcs, func(p *corev1.PersistentVolumeClaim) bool {
		return p.Name == claim && slices.Contains(p.Spec.AccessModes, corev1.ReadWriteMany)
	}) {
		t.Errorf("the report directory %s must be a writable mount of a ReadWriteMany claim of the overlay (got claim %q)", filepath.Dir(reportFile), claim)
	}
}

// isReportVolume: v, mounted at path, is a PersistentVolumeClaim that
// holds the container's --report-file, the one persistent mount a pod may
// have outside /etc.
func isReportVolume(c corev1.Container, path string, v corev1.Volume) bool {
	if v.PersistentVolumeClaim == nil {
		return false
	}
	for _, a := range c.Args {
		if f, ok := strings.CutPrefix(a, "--report-file="); ok && filepath.Dir(f) == path {
			return true
		}
	}
	return false
}
