package initpages

import (
	"strings"
	"testing"
)

// sample is an smaps excerpt as Linux 6.x writes it: a static executable's
// text, read-only data and data, a PIE's relocated RELRO segment (read-only
// now, but written by the loader), the heap and an anonymous mapping.
const sample = `00400000-014c4000 r-xp 00000000 fe:00 10002688                           /usr/local/bin/flux-mirror
Size:              17168 kB
KernelPageSize:        4 kB
Rss:               13200 kB
Pss:               13200 kB
Anonymous:             0 kB
THPeligible:           0
VmFlags: rd ex mr mw me
014c4000-0276e000 r--p 010c4000 fe:00 10002688                           /usr/local/bin/flux-mirror
Size:              19112 kB
Rss:               12456 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
0276e000-02841000 rw-p 0236e000 fe:00 10002688                           /usr/local/bin/flux-mirror
Rss:                 772 kB
Anonymous:           120 kB
7f0000000000-7f0000100000 r--p 00200000 fe:00 10002688                   /usr/local/bin/flux-mirror (deleted)
Rss:                  64 kB
Anonymous:            64 kB
7f0000200000-7f0000300000 r--p 00000000 fe:00 999                        /usr/lib/locale/C.utf8/LC_CTYPE
Rss:                 128 kB
Anonymous:             0 kB
2423a7400000-2423a8000000 rw-p 00000000 00:00 0
Rss:                5436 kB
Anonymous:          5436 kB
7ffc26ac8000-7ffc26ae9000 rw-p 00000000 00:00 0                          [stack]
Rss:                  16 kB
Anonymous:            16 kB
`

func TestParseSmaps(t *testing.T) {
	maps, err := parseSmaps(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x400000, end: 0x14c4000, perms: "r-xp", dev: "fe:00", inode: 10002688, rss: 13200 << 10},
		{start: 0x14c4000, end: 0x276e000, perms: "r--p", dev: "fe:00", inode: 10002688, rss: 12456 << 10},
		{start: 0x276e000, end: 0x2841000, perms: "rw-p", dev: "fe:00", inode: 10002688, rss: 772 << 10, anonymous: 120 << 10},
		{start: 0x7f0000000000, end: 0x7f0000100000, perms: "r--p", dev: "fe:00", inode: 10002688, rss: 64 << 10, anonymous: 64 << 10},
		{start: 0x7f0000200000, end: 0x7f0000300000, perms: "r--p", dev: "fe:00", inode: 999, rss: 128 << 10},
		{start: 0x2423a7400000, end: 0x2423a8000000, perms: "rw-p", dev: "00:00", rss: 5436 << 10, anonymous: 5436 << 10},
		{start: 0x7ffc26ac8000, end: 0x7ffc26ae9000, perms: "rw-p", dev: "00:00", rss: 16 << 10, anonymous: 16 << 10},
	}
	if len(maps) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(maps), len(want), maps)
	}
	for i := range want {
		if maps[i] != want[i] {
			t.Errorf("mapping %d:\n got %+v\nwant %+v", i, maps[i], want[i])
		}
	}
}

func TestReleasable(t *testing.T) {
	maps, err := parseSmaps(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range maps {
		if m.releasable("fe:00", 10002688) {
			got = append(got, m.perms)
		}
	}
	// Text and read-only data; not the data, not the written RELRO
	// segment, not another file, not anonymous memory.
	if strings.Join(got, ",") != "r-xp,r--p" {
		t.Errorf("releasable mappings: %v, want the text (r-xp) and the read-only data (r--p)", got)
	}
	if (mapping{perms: "r--p", dev: "00:00"}).releasable("00:00", 0) {
		t.Error("anonymous memory (inode 0) is releasable")
	}
}

func TestParseSmapsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"field first", "Rss: 4 kB\n", "field \"Rss\" before any mapping"},
		{"short header", "00400000-00500000 r-xp 0 fe:00\n", "want start-end perms offset dev inode"},
		{"no range", "00400000 r-xp 0 fe:00 1 /x\n", "address range has no '-'"},
		{"bad start", "zz-00500000 r-xp 0 fe:00 1 /x\n", "start address"},
		{"bad end", "00400000-zz r-xp 0 fe:00 1 /x\n", "end address"},
		{"reversed", "00500000-00400000 r-xp 0 fe:00 1 /x\n", "end address below start"},
		{"bad inode", "00400000-00500000 r-xp 0 fe:00 x /x\n", "inode"},
		{"bad unit", "00400000-00500000 r-xp 0 fe:00 1 /x\nRss: 4 MB\n", "line 2: Rss: size \"4 MB\""},
		{"bad number", "00400000-00500000 r-xp 0 fe:00 1 /x\nAnonymous: -4 kB\n", "line 2: Anonymous: size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSmaps(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseSmaps(f *testing.F) {
	f.Add(sample)
	f.Add("00400000-00500000 r-xp 0 fe:00 1\nRss: 4 kB\nVmFlags: rd ex\n")
	f.Fuzz(func(t *testing.T, in string) {
		maps, err := parseSmaps(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range maps {
			if m.end < m.start {
				t.Fatalf("mapping %+v ends before it starts", m)
			}
			if m.releasable(m.dev, m.inode) && (m.writable() || m.anonymous != 0 || m.inode == 0) {
				t.Fatalf("mapping %+v is releasable", m)
			}
		}
	})
}
