// Package retry runs an operation again after temporary failures, with
// exponential backoff and jitter, and classifies failures as temporary or
// permanent (Retryable), once, for every layer that retries.
//
// Do waits a random duration in [JitterFloor·b, b) before retry n+1, where
// b = min(Max, Base·2^n) (full jitter when JitterFloor is zero), or exactly
// the server's Retry-After when a core.HTTPError carries one. Retries stop
// after Policy.Retries retries or, with a Policy.Window, once the next
// attempt would start more than Window after the first failure; the error
// then says how many attempts were made (*AttemptsError). Do never retries a
// cancelled or expired context, never sleeps past the context's deadline (it
// stops and returns the last error instead), and never retries errors that
// cannot succeed on a second try (see Retryable). Clock, randomness and
// sleeping are injectable, so tests run without real waiting.
package retry
