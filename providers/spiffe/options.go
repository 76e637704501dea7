package spiffe

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// EnvSocket is the environment variable with the Workload API address.
const EnvSocket = workloadapi.SocketEnv

// DefaultTimeout bounds one JWT-SVID fetch and the wait for the first
// X.509-SVID when neither the context nor WithTimeout is shorter.
const DefaultTimeout = 30 * time.Second

// Option configures the token factory and the X.509 source.
type Option func(*options)

type options struct {
	addr    string
	timeout time.Duration
	logger  *slog.Logger
	lookup  func(string) (string, bool)
	now     func() time.Time
}

// WithAddr sets the Workload API address (unix:///path or tcp://ip:port)
// instead of reading SPIFFE_ENDPOINT_SOCKET.
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithTimeout bounds one JWT-SVID fetch and the wait for the first
// X.509-SVID (default DefaultTimeout); a shorter context deadline wins.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLogger sets the logger of Workload API diagnostics (watch errors,
// reconnects); nil means discard, and for the token factory the
// auth.Settings logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock the X.509 source checks an SVID's expiry
// against (default time.Now), for tests of an agent that stopped renewing.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// withLookupEnv replaces os.LookupEnv, for tests.
func withLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookup = f }
}

func newOptions(opts []Option) options {
	o := options{timeout: DefaultTimeout, lookup: os.LookupEnv, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	return o
}

func (o options) log() *slog.Logger {
	if o.logger != nil {
		return o.logger
	}
	return slog.New(slog.DiscardHandler)
}

// address returns the Workload API address from WithAddr or the
// environment, checked so that a bad value is reported here rather than as
// a dial error.
func (o options) address() (string, error) {
	addr, field := o.addr, "the Workload API address"
	if addr == "" {
		v, _ := o.lookup(EnvSocket)
		if strings.TrimSpace(v) == "" {
			return "", errors.New(EnvSocket + " is not set: set it to the SPIFFE Workload API socket of the SPIRE agent, e.g. unix:///run/spire/sockets/agent.sock")
		}
		addr, field = strings.TrimSpace(v), EnvSocket
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		fix := "use unix:///path/to/agent.sock or tcp://<ip>:<port>"
		if strings.HasPrefix(addr, "/") {
			fix = "use unix://" + addr
		}
		return "", fmt.Errorf("%s %q is not a Workload API address (%v): %s", field, addr, err, fix)
	}
	return addr, nil
}
