package primitive

import (
	"strconv"
	"strings"
	"time"
)

// TimeLayout is the basic ISO 8601 form of m2m:timestamp (TS-0004 6.3.3).
const TimeLayout = "20060102T150405"

// FormatTime renders t as m2m:timestamp in UTC with a six-digit fraction
// ("20250102T030405,123456"). A fixed width keeps stored timestamps ordered
// when compared as strings.
func FormatTime(t time.Time) string {
	t = t.UTC()
	var b [22]byte
	buf := t.AppendFormat(b[:0], TimeLayout)
	buf = append(buf, ',')
	us := t.Nanosecond() / 1000
	for d := 100000; d > 0; d /= 10 {
		buf = append(buf, byte('0'+us/d%10))
	}
	return string(buf)
}

// ParseTime parses m2m:timestamp: YYYYMMDDThhmmss with an optional fraction of up
// to nine digits after a comma (or a dot, which some clients send), always UTC
// (a trailing "Z" is tolerated).
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(s, "Z")
	if len(s) < 15 {
		return time.Time{}, false
	}
	t, err := time.Parse(TimeLayout, s[:15])
	if err != nil {
		return time.Time{}, false
	}
	rest := s[15:]
	if rest == "" {
		return t, true
	}
	if rest[0] != ',' && rest[0] != '.' {
		return time.Time{}, false
	}
	frac := rest[1:]
	if len(frac) == 0 || len(frac) > 9 {
		return time.Time{}, false
	}
	n := 0
	for _, c := range frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int(c-'0')
	}
	for i := len(frac); i < 9; i++ {
		n *= 10
	}
	return t.Add(time.Duration(n)), true
}

// ParseAbsRelTime parses m2m:absRelTimestamp: a timestamp, or an integer number
// of milliseconds relative to now.
func ParseAbsRelTime(s string, now time.Time) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms > 100*365*24*3600*1000 || ms < -100*365*24*3600*1000 {
			return time.Time{}, false
		}
		return now.Add(time.Duration(ms) * time.Millisecond), true
	}
	return ParseTime(s)
}

// IsDuration reports whether s is an xs:duration (ISO 8601), e.g. "PT10S",
// "P1Y2M3DT10H1M0S", "-P1D", "PT0.5S": an optional '-', 'P', then at least one
// of nY nM nD, optionally followed by 'T' and at least one of nH nM n[.n]S, in
// that order. Only the last component may have a fraction, and only seconds.
func IsDuration(s string) bool {
	s = strings.TrimPrefix(s, "-")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return false
	}
	date, timePart, hasT := strings.Cut(rest, "T")
	if hasT && timePart == "" {
		return false
	}
	if !durationPart(date, "YMD", false) || !durationPart(timePart, "HMS", true) {
		return false
	}
	return true
}

// durationPart checks a run of "<digits><unit>" items whose units appear in
// the order of units, each at most once.
func durationPart(s, units string, fracSeconds bool) bool {
	next := 0
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		if fracSeconds && i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 || j >= len(s) || s[j] != 'S' {
				return false
			}
			i = j
		}
		if i >= len(s) {
			return false
		}
		u := strings.IndexByte(units[next:], s[i])
		if u < 0 {
			return false
		}
		next += u + 1
		s = s[i+1:]
	}
	return true
}
