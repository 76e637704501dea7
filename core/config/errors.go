package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one problem with one field of a Config. Validate and Decode
// return every FieldError they find, joined with errors.Join; FieldErrors
// takes them apart again.
type FieldError struct {
	// Path locates the field in the document, e.g.
	// "artifacts[0].selector.sortBy" or "hosts[1].credential". An empty Path
	// means the document as a whole.
	Path string
	// Message says what is wrong and what is allowed. It never contains a
	// secret value.
	Message string
	// Host is the host name of the hosts entry the Path starts in, if known;
	// Error shows it after the entry's index (hosts[1] "quay.io": …).
	Host string
}

// Error renders the error as "<path>: <message>", naming the host of a hosts
// entry: `hosts[1] "quay.io": credential: exactly one of … must be set`.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	if e.Host != "" {
		entry, rest := splitEntry(e.Path)
		if rest == "" {
			return entry + " " + strconv.Quote(e.Host) + ": " + e.Message
		}
		return entry + " " + strconv.Quote(e.Host) + ": " + rest + ": " + e.Message
	}
	return e.Path + ": " + e.Message
}

// splitEntry splits "hosts[1].credential.fromPath" into "hosts[1]" and
// "credential.fromPath".
func splitEntry(path string) (entry, rest string) {
	i := strings.IndexByte(path, ']')
	if i < 0 {
		return path, ""
	}
	return path[:i+1], strings.TrimPrefix(path[i+1:], ".")
}

// FieldErrors returns the FieldErrors in err, which may be a single
// *FieldError or a tree of joined and wrapped errors, in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// errorList collects FieldErrors in document order.
type errorList struct{ errs []error }

func (l *errorList) add(path, host, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{Path: path, Host: host, Message: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error { return errors.Join(l.errs...) }

// field is a position in the document that builds child paths.
type field struct {
	path string
	host string // host label of the enclosing hosts entry, if any
}

func (f field) child(name string) field {
	if f.path == "" {
		return field{path: name, host: f.host}
	}
	return field{path: f.path + "." + name, host: f.host}
}

func (f field) index(i int) field {
	return field{path: f.path + "[" + strconv.Itoa(i) + "]", host: f.host}
}

// list joins names as "a, b or c".
func list(names ...string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
