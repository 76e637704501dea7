package bench

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/bench/counting"
)

func TestContracts(t *testing.T) {
	w := Workload{Entries: 1, Tags: 30, Blobs: 91}
	src, dst := NoOpContract(w)
	noopSrc := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.TagList: 1, counting.ManifestHead: 30}}
	noopDst := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.ManifestHead: 30}}
	copySrc := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.TagList: 1, counting.ManifestHead: 30, counting.ManifestGet: 30, counting.BlobGet: 91}}
	copyDst := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.ManifestHead: 30, counting.BlobHead: 91, counting.UploadPost: 91, counting.UploadPut: 91, counting.ManifestPut: 30}}
	csrc, cdst := CopyContract(w)
	// 10 tags of 4-platform indexes: 40 children.
	iw := Workload{Entries: 1, Tags: 10, Children: 40, Blobs: 84}
	indexSrc := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.TagList: 1, counting.ManifestHead: 10, counting.ManifestGet: 50, counting.BlobGet: 84}}
	indexDst := counting.Counts{Requests: map[counting.Kind]int{counting.Ping: 1, counting.ManifestHead: 50, counting.BlobHead: 84, counting.UploadPost: 84, counting.UploadPut: 84, counting.ManifestPut: 50}}
	isrc, idst := CopyContract(iw)
	// A blob shared by 100 destination repositories: uploaded once, mounted 99 times.
	_, mdst := CopyContract(Workload{Entries: 1, Tags: 30, Blobs: 91, Mounts: 99})

	for _, tc := range []struct {
		name    string
		c       Contract
		got     counting.Counts
		wantErr string
	}{
		{"noop source exact", src, noopSrc, ""},
		{"noop destination exact", dst, noopDst, ""},
		{"noop fewer is fine", dst, counting.Counts{Requests: map[counting.Kind]int{counting.ManifestHead: 29}}, ""},
		{"noop extra manifest GET", src, with(noopSrc, counting.ManifestGet, 1), "manifest-GET 1 (contract 0)"},
		{"noop second ping", dst, with(noopDst, counting.Ping, 2), "ping 2 (contract 1)"},
		{"noop blob HEAD at destination", dst, with(noopDst, counting.BlobHead, 3), "blob-HEAD 3 (contract 0)"},
		{"noop destination tag list", dst, with(noopDst, counting.TagList, 1), "tags 1 (contract 0)"},
		{"copy source exact", csrc, copySrc, ""},
		{"copy destination exact", cdst, copyDst, ""},
		{"copy shared blob uploaded twice", cdst, with(copyDst, counting.UploadPut, 92), "upload-PUT 92 (contract 91)"},
		{"copy chunked upload", cdst, with(copyDst, counting.UploadPatch, 91), "upload-PATCH 91 (contract 0)"},
		{"copy mount between registries", cdst, with(copyDst, counting.Mount, 1), "mount 1 (contract 0)"},
		{"copy lists the destination once", cdst, with(copyDst, counting.TagList, 1), ""},
		{"copy lists the destination twice", cdst, with(copyDst, counting.TagList, 2), "tags 2 (contract 1)"},
		{"copy into repositories: shared base mounted", mdst, with(copyDst, counting.Mount, 99), ""},
		{"copy into repositories: one mount too many", mdst, with(copyDst, counting.Mount, 100), "mount 100 (contract 99)"},
		{"index copy source exact", isrc, indexSrc, ""},
		{"index copy destination exact", idst, indexDst, ""},
		{"index child fetched twice", isrc, with(indexSrc, counting.ManifestGet, 51), "manifest-GET 51 (contract 50)"},
		{"index child put twice", idst, with(indexDst, counting.ManifestPut, 51), "manifest-PUT 51 (contract 50)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check(tc.got)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Check = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// with returns a copy of c with kind set to n.
func with(c counting.Counts, kind counting.Kind, n int) counting.Counts {
	m := map[counting.Kind]int{}
	for k, v := range c.Requests {
		m[k] = v
	}
	m[kind] = n
	return counting.Counts{Requests: m}
}
