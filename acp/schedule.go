package acp

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is a parsed m2m:scheduleEntry (TS-0004 Table 7.4.9.1-4). The zero
// value matches nothing, so a forgotten ParseSchedule fails closed.
type Schedule struct {
	src string
	// One bit per allowed value for the six small fields. Day-of-week is
	// stored with Sunday as bit 0 only (7 is folded onto 0 while parsing).
	sec, min, hour, dom, mon, dow uint64
	// Years span up to 8000 values, so they are kept as the parsed elements
	// instead of a bitset.
	years []span
	valid bool
}

// span is one element lo-hi/step of a field.
type span struct{ lo, hi, step int }

func (s span) contains(v int) bool {
	return v >= s.lo && v <= s.hi && (v-s.lo)%s.step == 0
}

// fieldSpec describes one of the seven fields.
type fieldSpec struct {
	name     string
	min, max int
}

var scheduleFields = [7]fieldSpec{
	{"second", 0, 59},
	{"minute", 0, 59},
	{"hour", 0, 23},
	{"day-of-month", 1, 31},
	{"month", 1, 12},
	{"day-of-week", 0, 7}, // 0 and 7 are both Sunday, as in crontab
	{"year", 2000, 9999},
}

// ParseSchedule parses an m2m:scheduleEntry such as "* * 8-18 * * 1-5 *".
//
// Fields are separated by white space. Each field is "*", "*/n", or a comma
// separated list of elements "a", "a-b" or "a-b/n" (decimal numbers only, no
// names). Ranges must be ascending and inside the field's range; steps must be
// between 1 and the size of the field's range. Anything else is an error.
func ParseSchedule(s string) (Schedule, error) {
	parts := strings.Fields(s)
	if len(parts) != len(scheduleFields) {
		return Schedule{}, fmt.Errorf("schedule entry %q: want 7 fields (second minute hour day-of-month month day-of-week year), got %d", s, len(parts))
	}
	sch := Schedule{src: strings.Join(parts, " "), valid: true}
	for i, p := range parts {
		f := scheduleFields[i]
		spans, err := parseField(p, f)
		if err != nil {
			return Schedule{}, fmt.Errorf("schedule entry %q: %s field %q: %v", s, f.name, p, err)
		}
		if i == 6 {
			sch.years = spans
			continue
		}
		var bits uint64
		for _, sp := range spans {
			for v := sp.lo; v <= sp.hi; v += sp.step {
				bits |= 1 << uint(v)
			}
		}
		switch i {
		case 0:
			sch.sec = bits
		case 1:
			sch.min = bits
		case 2:
			sch.hour = bits
		case 3:
			sch.dom = bits
		case 4:
			sch.mon = bits
		case 5:
			// Fold 7 (Sunday, crontab style) onto 0 so Matches needs one test.
			if bits&(1<<7) != 0 {
				bits = bits&^(1<<7) | 1
			}
			sch.dow = bits
		}
	}
	return sch, nil
}

// parseField parses one field into its elements.
func parseField(p string, f fieldSpec) ([]span, error) {
	if p == "" {
		return nil, fmt.Errorf("empty")
	}
	// "*" and "*/n" are only valid as the whole field (TS-0004: a field is an
	// asterisk, an element or a list of elements; the step may follow "*").
	if p[0] == '*' {
		full := span{f.min, f.max, 1}
		if f.max == 7 { // day-of-week: "*" means the seven days 0..6
			full.hi = 6
		}
		if p == "*" {
			return []span{full}, nil
		}
		rest, ok := strings.CutPrefix(p, "*/")
		if !ok {
			return nil, fmt.Errorf("\"*\" may only be followed by \"/step\"")
		}
		step, err := parseStep(rest, f)
		if err != nil {
			return nil, err
		}
		full.step = step
		return []span{full}, nil
	}
	var spans []span
	for _, el := range strings.Split(p, ",") {
		sp, err := parseElement(el, f)
		if err != nil {
			return nil, err
		}
		spans = append(spans, sp)
	}
	return spans, nil
}

// parseElement parses "a", "a-b" or "a-b/n".
func parseElement(el string, f fieldSpec) (span, error) {
	if el == "" {
		return span{}, fmt.Errorf("empty list element")
	}
	rng, stepStr, hasStep := strings.Cut(el, "/")
	loStr, hiStr, isRange := strings.Cut(rng, "-")
	if hasStep && !isRange {
		// The spec only allows a step after a range or "*"; "5/2" is a
		// vendor extension with differing meanings, so refuse it.
		return span{}, fmt.Errorf("step %q needs a range (a-b/n) or \"*\"", el)
	}
	lo, err := parseNumber(loStr, f)
	if err != nil {
		return span{}, err
	}
	sp := span{lo, lo, 1}
	if isRange {
		hi, err := parseNumber(hiStr, f)
		if err != nil {
			return span{}, err
		}
		if hi < lo {
			return span{}, fmt.Errorf("range %d-%d is descending", lo, hi)
		}
		sp.hi = hi
	}
	if hasStep {
		if sp.step, err = parseStep(stepStr, f); err != nil {
			return span{}, err
		}
	}
	return sp, nil
}

// parseNumber parses a decimal number and checks it against the field range.
func parseNumber(s string, f fieldSpec) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing number")
	}
	if len(s) > 9 { // keeps the conversion below far away from overflow
		return 0, fmt.Errorf("number %q too long", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("value %d out of range %d..%d", n, f.min, f.max)
	}
	return n, nil
}

// parseStep parses the n of "/n": 1 up to the number of values in the field.
func parseStep(s string, f fieldSpec) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing step")
	}
	if len(s) > 9 {
		return 0, fmt.Errorf("step %q too long", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("step %q is not a decimal number", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > f.max-f.min+1 {
		return 0, fmt.Errorf("step %d out of range 1..%d", n, f.max-f.min+1)
	}
	return n, nil
}

// Matches reports whether t (converted to UTC) lies inside the schedule, i.e.
// every one of the seven fields allows the corresponding component of t.
func (s Schedule) Matches(t time.Time) bool {
	if !s.valid {
		return false
	}
	t = t.UTC()
	if s.sec&(1<<uint(t.Second())) == 0 ||
		s.min&(1<<uint(t.Minute())) == 0 ||
		s.hour&(1<<uint(t.Hour())) == 0 ||
		s.dom&(1<<uint(t.Day())) == 0 ||
		s.mon&(1<<uint(t.Month())) == 0 ||
		s.dow&(1<<uint(t.Weekday())) == 0 {
		return false
	}
	y := t.Year()
	for _, sp := range s.years {
		if sp.contains(y) {
			return true
		}
	}
	return false
}

// String returns the schedule entry as parsed (fields joined by one space).
func (s Schedule) String() string { return s.src }
