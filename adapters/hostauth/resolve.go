package hostauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// Resolved is one host's credential as login and secret store it.
type Resolved struct {
	// Host is the registry host as configured.
	Host string
	// Credential is the resolved credential; zero when Skipped.
	Credential auth.Credential
	// Skipped reports a host with nothing to store: it configures only tls
	// or maxChunkSize ("• skipping <host>").
	Skipped bool
}

// Resolve mints the credential of each selected host once, for login and
// secret. hosts selects hosts by name (the --host flags); empty selects every
// host of cfg. Results follow the config's order. A selected name that is not
// in cfg fails before anything is minted, naming it and the known hosts. ctx
// bounds every mint (the --timeout flag).
//
// If any host fails, Resolve returns no results and an error that lists every
// failure, each prefixed with the host's position (`hosts[1] "r": …`).
func Resolve(ctx context.Context, cfg *config.Config, deps Deps, hosts []string) ([]Resolved, error) {
	if cfg == nil {
		return nil, errors.New("resolve credentials: no config")
	}
	known := make([]string, 0, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		known = append(known, h.Host)
	}
	var unknown []error
	for _, name := range hosts {
		if !slices.Contains(known, name) {
			k := "none"
			if len(known) > 0 {
				k = strings.Join(known, ", ")
			}
			unknown = append(unknown, fmt.Errorf("--host %q is not in the config's hosts (known: %s)", name, k))
		}
	}
	if err := errors.Join(unknown...); err != nil {
		return nil, err
	}

	type job struct {
		i   int
		h   config.Host
		src auth.Source
	}
	var jobs []job
	var errs []error
	for i, h := range cfg.Hosts {
		if len(hosts) > 0 && !slices.Contains(hosts, h.Host) {
			continue
		}
		src, err := NewSource(h, deps)
		if err != nil {
			errs = append(errs, hostError(i, h.Host, err))
			continue
		}
		jobs = append(jobs, job{i: i, h: h, src: src})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	out := make([]Resolved, len(jobs))
	jobErrs := make([]error, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for n, j := range jobs {
		out[n] = Resolved{Host: j.h.Host, Skipped: j.src == nil}
		if j.src == nil {
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				jobErrs[n] = hostError(j.i, j.h.Host, fmt.Errorf("resolve the credential: %w", context.Cause(ctx)))
				return
			}
			c, err := j.src.Credential(ctx)
			if err != nil {
				jobErrs[n] = hostError(j.i, j.h.Host, err)
				return
			}
			out[n].Credential = c
		})
	}
	wg.Wait()
	if err := errors.Join(jobErrs...); err != nil {
		return nil, err
	}
	return out, nil
}
