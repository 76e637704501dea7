package initpages

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mapping is one entry of /proc/<pid>/smaps.
type mapping struct {
	start, end uint64
	// perms is the permission field, such as "r-xp".
	perms string
	// dev and inode identify the mapped file; inode 0 is anonymous memory.
	dev   string
	inode uint64
	// rss and anonymous are the Rss: and Anonymous: fields, in bytes.
	rss, anonymous uint64
}

// writable reports whether the mapping may be written to.
func (m mapping) writable() bool { return len(m.perms) > 1 && m.perms[1] == 'w' }

// releasable reports whether m belongs to the file dev:inode, cannot be
// written and holds no private copy of a page: dropping its pages loses
// nothing, they read back from the file as they were.
func (m mapping) releasable(dev string, inode uint64) bool {
	return inode != 0 && m.inode == inode && m.dev == dev && !m.writable() && m.anonymous == 0
}

// parseSmaps reads the mappings of an smaps file. Lines it does not know
// are ignored, as the kernel adds fields over time; a malformed mapping
// header or size field is an error.
func parseSmaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		name, value, isField := strings.Cut(line, ":")
		if isField && !strings.Contains(name, " ") && !strings.Contains(name, "-") {
			if len(out) == 0 {
				return nil, fmt.Errorf("smaps line %d: field %q before any mapping", n, name)
			}
			m := &out[len(out)-1]
			switch name {
			case "Rss", "Anonymous":
				b, err := kilobytes(value)
				if err != nil {
					return nil, fmt.Errorf("smaps line %d: %s: %w", n, name, err)
				}
				if name == "Rss" {
					m.rss = b
				} else {
					m.anonymous = b
				}
			}
			continue
		}
		m, err := parseHeader(line)
		if err != nil {
			return nil, fmt.Errorf("smaps line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read smaps: %w", err)
	}
	return out, nil
}

// parseHeader parses "start-end perms offset dev inode [path]".
func parseHeader(line string) (mapping, error) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return mapping{}, fmt.Errorf("mapping header %q: want start-end perms offset dev inode", line)
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return mapping{}, fmt.Errorf("mapping header %q: address range has no '-'", line)
	}
	var m mapping
	var err error
	if m.start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return mapping{}, fmt.Errorf("mapping header %q: start address: %w", line, err)
	}
	if m.end, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return mapping{}, fmt.Errorf("mapping header %q: end address: %w", line, err)
	}
	if m.end < m.start {
		return mapping{}, fmt.Errorf("mapping header %q: end address below start", line)
	}
	if m.inode, err = strconv.ParseUint(f[4], 10, 64); err != nil {
		return mapping{}, fmt.Errorf("mapping header %q: inode: %w", line, err)
	}
	m.perms, m.dev = f[1], f[3]
	return m, nil
}

// kilobytes parses a size field such as "   1234 kB" into bytes.
func kilobytes(v string) (uint64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
	if unit != "kB" {
		return 0, fmt.Errorf("size %q: want <n> kB", strings.TrimSpace(v))
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > 1<<53 {
		return 0, fmt.Errorf("size %q: want <n> kB", strings.TrimSpace(v))
	}
	return n << 10, nil
}
