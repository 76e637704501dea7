package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// manifestPuts counts manifest PUTs per path on a registry.
type manifestPuts struct {
	mu   sync.Mutex
	puts map[string]int
}

func (m *manifestPuts) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			m.mu.Lock()
			m.puts[r.URL.Path]++
			m.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// TestImageRunsAnIndexedJob runs the image as the pods of an Indexed Job
// run it: two containers at once, each with its own JOB_COMPLETION_INDEX
// and --shards 2, writing their reports to a shared volume. Together they
// mirror every tag exactly once (one manifest PUT per tag), and report
// merge turns their reports into the run's one report.
func TestImageRunsAnIndexedJob(t *testing.T) {
	if reason := dockerReason(); reason != "" {
		t.Skip("skipping the image test: " + reason)
	}
	root := repoRoot(t)
	run(t, root, nil, "make", "image")
	hostBin := filepath.Join(root, "bin", "image", "flux-mirror")

	src := serveRegistry(t, "", "")
	puts := &manifestPuts{puts: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dstSrv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: puts.wrap(registry.New())}}
	dstSrv.Start()
	t.Cleanup(dstSrv.Close)
	dst := ln.Addr().String()

	const tags = 8
	for i := range tags {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(mustRef(t, fmt.Sprintf("%s/app/podinfo:1.%d.0", src, i)), img); err != nil {
			t.Fatal(err)
		}
	}
	configDir := writeFiles(t, map[string][]byte{"flux-mirror.yaml": fmt.Appendf(nil, `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
artifacts:
  - source: %s/app/podinfo
    destination: %s/mirror/podinfo
    selector:
      semver: ">=1.0.0"
      limit: 0
`, src, dst)})
	reports := writeFiles(t, nil)
	if err := os.Chmod(reports, 0o777); err != nil { // written by the image's user
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := make([]bytes.Buffer, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("docker", "run", "--rm", "--network", "host", "--read-only", "--user", "65532:65532",
				"--env", "JOB_COMPLETION_INDEX="+strconv.Itoa(i),
				"--volume", configDir+":/etc/flux-mirror/config:ro", "--volume", reports+":/reports",
				"flux-mirror:dev", "sync", "/etc/flux-mirror/config/flux-mirror.yaml", "--no-progress",
				"--shards", "2", "--report-file", fmt.Sprintf("/reports/shard-%d.json", i))
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, outs[i].String())
		}
	}

	merged := run(t, reports, nil, hostBin, "report", "merge", "shard-0.json", "shard-1.json", "-o", "json")
	var rep struct {
		Report struct {
			Summary struct{ Copied, Failed int } `json:"summary"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(merged), &rep); err != nil {
		t.Fatalf("merged report: %v\n%s", err, merged)
	}
	if rep.Report.Summary.Copied != tags || rep.Report.Summary.Failed != 0 {
		t.Errorf("merged summary %+v, want %d copied", rep.Report.Summary, tags)
	}
	for i := range tags {
		tag := fmt.Sprintf("1.%d.0", i)
		want, err := remote.Head(mustRef(t, src+"/app/podinfo:"+tag))
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Head(mustRef(t, dst+"/mirror/podinfo:"+tag))
		if err != nil || got.Digest != want.Digest {
			t.Errorf("tag %s at the destination: %v %v, want %s", tag, got, err, want.Digest)
		}
		if n := puts.puts["/v2/mirror/podinfo/manifests/"+tag]; n != 1 {
			t.Errorf("tag %s: %d manifest PUTs, want exactly 1 across the shards", tag, n)
		}
	}
}
