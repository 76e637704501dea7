package deploycheck

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// dockerReason returns why the Docker engine cannot be used, or "".
func dockerReason() string {
	if _, err := exec.LookPath("docker"); err != nil {
		return "no docker client on PATH"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("no reachable Docker engine (docker info: %v: %s)", err, bytes.TrimSpace(out))
	}
	return ""
}

// serveRegistry starts an in-memory registry on 127.0.0.1; with a user it
// answers 401 unless the request carries that user's Basic credentials.
func serveRegistry(t *testing.T, user, password string) string {
	t.Helper()
	h := registry.New()
	if user != "" {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(user+":"+password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="deploycheck"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String()
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// writeFiles writes files (name -> content) into a new directory that the
// image's non-root user can read, as a ConfigMap or Secret volume is.
func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestImageRunsTheCronJob builds the image with `make image` and runs a
// real sync in it exactly as deploy/kubernetes/cronjob.yaml declares the
// container: its arguments and environment, a read-only root filesystem, its
// non-root user, the config file mounted where the ConfigMap goes and the
// Docker config that `flux-mirror secret` writes mounted where the Secret
// goes, against registries on the host network.
func TestImageRunsTheCronJob(t *testing.T) {
	if reason := dockerReason(); reason != "" {
		t.Skip("skipping the image test: " + reason)
	}
	root := repoRoot(t)
	const version = "v0.0.0-deploycheck"
	run(t, root, nil, "make", "image", "VERSION="+version)
	hostBin := filepath.Join(root, "bin", "image", "flux-mirror") // static, runs on the host too

	src := serveRegistry(t, "", "")
	dst := serveRegistry(t, "mirror", "s3cret-pass")
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(mustRef(t, src+"/app/podinfo:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}

	// The Secret, exactly as `flux-mirror secret --export` writes it.
	hosts := writeFiles(t, map[string][]byte{"hosts.yaml": fmt.Appendf(nil, `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: %s
    username: mirror
    credential:
      value: ${DEST_PASSWORD}
`, dst)})
	out := run(t, hosts, []string{"DEST_PASSWORD=s3cret-pass"}, hostBin, "secret", "flux-mirror-credentials", "-f", "hosts.yaml", "--export")
	var secret corev1.Secret
	if err := yaml.UnmarshalStrict([]byte(out), &secret); err != nil {
		t.Fatalf("decode the exported Secret: %v\n%s", err, out)
	}

	var cj batchv1.CronJob
	decodeStrict(t, filepath.Join(root, "deploy", "kubernetes", "cronjob.yaml"), &cj)
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	c := pod.Containers[0]
	config := fmt.Appendf(nil, `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
artifacts:
  - source: %s/app/podinfo
    destination: %s/mirror/podinfo
    selector:
      semver: ">=1.0.0"
      limit: 5
`, src, dst)

	args := []string{"run", "--rm", "--network", "host", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
	if sc := c.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		args = append(args, "--read-only")
	}
	if psc := pod.SecurityContext; psc != nil && psc.RunAsUser != nil {
		user := strconv.FormatInt(*psc.RunAsUser, 10)
		if psc.RunAsGroup != nil {
			user += ":" + strconv.FormatInt(*psc.RunAsGroup, 10)
		}
		args = append(args, "--user", user)
	}
	for _, e := range c.Env {
		args = append(args, "--env", e.Name+"="+e.Value)
	}
	var configDir, dockerDir string // the volumes' stand-ins, reused below
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		switch {
		case v.ConfigMap != nil:
			configDir = writeFiles(t, map[string][]byte{filepath.Base(c.Args[1]): config})
			args = append(args, "--volume", configDir+":"+m.MountPath+":ro")
		case v.Secret != nil:
			files := map[string][]byte{}
			for _, item := range v.Secret.Items {
				files[item.Path] = secret.Data[item.Key]
			}
			dockerDir = writeFiles(t, files)
			args = append(args, "--volume", dockerDir+":"+m.MountPath+":ro")
		case v.EmptyDir != nil:
			args = append(args, "--tmpfs", m.MountPath+":rw,size=64m,uid="+strconv.FormatInt(*pod.SecurityContext.RunAsUser, 10))
		default:
			t.Fatalf("volume %s: no way to stand in for it in docker run", m.Name)
		}
	}
	args = append(args, "flux-mirror:dev")
	args = append(args, c.Args...)
	out = run(t, root, nil, "docker", args...)
	if got := strings.Count(out, "(copied)"); got != 2 {
		t.Errorf("want 2 tags copied, got %d:\n%s", got, out)
	}

	auth := remote.WithAuth(&authn.Basic{Username: "mirror", Password: "s3cret-pass"})
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		want, err := remote.Head(mustRef(t, src+"/app/podinfo:"+tag))
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Head(mustRef(t, dst+"/mirror/podinfo:"+tag), auth)
		if err != nil {
			t.Fatalf("mirrored tag %s: %v", tag, err)
		}
		if got.Digest != want.Digest {
			t.Errorf("tag %s: destination %s, source %s", tag, got.Digest, want.Digest)
		}
	}

	// No HOME, no writable directory at all: nothing needs one. The re-run
	// finds both tags up to date.
	out = run(t, root, nil, "docker", "run", "--rm", "--network", "host", "--read-only", "--user", "65532:65532",
		"--volume", configDir+":/etc/flux-mirror/config:ro", "--volume", dockerDir+":/etc/flux-mirror/docker:ro",
		"--env", "DOCKER_CONFIG=/etc/flux-mirror/docker",
		"flux-mirror:dev", "sync", "/etc/flux-mirror/config/"+filepath.Base(c.Args[1]), "--no-progress")
	if got := strings.Count(out, "(skipped)"); got != 2 {
		t.Errorf("re-run without HOME: want 2 tags skipped, got %d:\n%s", got, out)
	}

	// The version the image reports is the one make image stamped.
	if out := run(t, root, nil, "docker", "run", "--rm", "--read-only", "flux-mirror:"+version, "version"); !strings.Contains(out, version) {
		t.Errorf("flux-mirror:%s version printed:\n%s", version, out)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
