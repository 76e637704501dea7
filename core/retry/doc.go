// Package retry runs an operation again after temporary failures, with
// exponential backoff and full jitter.
//
// Do waits a random duration in [0, min(Max, Base·2^n)) before retry n+1
// ("full jitter"), or exactly the server's Retry-After when a
// core.HTTPError carries one. It never retries a cancelled or expired
// context, never sleeps past the context's deadline (it stops and returns
// the last error instead), and never retries errors that cannot succeed on a
// second try (see Retryable). Clock, randomness and sleeping are injectable,
// so tests run without real waiting.
package retry
