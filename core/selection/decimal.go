package selection

import (
	"cmp"
	"strconv"
	"strings"
)

// maxExponent bounds the exponent of a numerical key, so that position
// arithmetic cannot overflow. Tags are at most 128 characters, far below.
const maxExponent = 1_000_000_000

// decimal is an exactly comparable decimal number: sign × 0.digits × 10^exp,
// with digits free of leading and trailing zeros. Zero has no digits.
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// parseDecimal parses an optionally signed decimal with an optional fraction
// and exponent: "42", "+7", "-1.5", ".5", "3.", "1e3", "2.5E-2".
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s != "" && (s[0] == '+' || s[0] == '-') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	mant, expStr, hasExp := strings.Cut(s, "e")
	if !hasExp {
		mant, expStr, hasExp = strings.Cut(s, "E")
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return decimal{}, false
	}
	var exp int64
	if hasExp {
		neg, body := false, expStr
		if body != "" && (body[0] == '+' || body[0] == '-') {
			neg, body = body[0] == '-', body[1:]
		}
		if body == "" || len(strings.TrimLeft(body, "0")) > 10 || !allDigits(body) {
			return decimal{}, false
		}
		e, err := strconv.ParseInt(body, 10, 64)
		if err != nil || e > maxExponent {
			return decimal{}, false
		}
		if neg {
			e = -e
		}
		exp = e
	}
	all := intPart + frac
	lead := len(all) - len(strings.TrimLeft(all, "0"))
	d.digits = strings.TrimRight(all[lead:], "0")
	if d.digits == "" {
		return decimal{}, true // zero, whatever its sign
	}
	// value = 0.all × 10^(len(intPart)+exp); dropping lead zeros shifts it.
	d.exp = int64(len(intPart)) - int64(lead) + exp
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compare returns -1, 0 or +1 as d is less than, equal to or greater than o.
func (d decimal) compare(o decimal) int {
	if ds, os := d.sign(), o.sign(); ds != os {
		return cmp.Compare(ds, os)
	}
	m := d.compareMagnitude(o)
	if d.neg {
		return -m
	}
	return m
}

func (d decimal) sign() int {
	switch {
	case d.digits == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

func (d decimal) compareMagnitude(o decimal) int {
	if d.digits == "" || o.digits == "" {
		return cmp.Compare(len(d.digits), len(o.digits))
	}
	if c := cmp.Compare(d.exp, o.exp); c != 0 {
		return c
	}
	// Same magnitude: digit strings without trailing zeros compare
	// lexicographically ("15" > "1", "2" > "19").
	return strings.Compare(d.digits, o.digits)
}
