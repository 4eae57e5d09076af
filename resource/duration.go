package resource

import (
	"fmt"
	"strconv"
	"time"
)

// ParseDuration parses an xs:duration limited to days and time parts
// ("PT10S", "P1DT2H", "PT0.5S"); years and months have no fixed length and are
// refused. A plain integer is taken as milliseconds, as several clients send.
func ParseDuration(s string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	bad := fmt.Errorf("%q is not an ISO 8601 duration such as PT10S", s)
	if len(s) < 3 || s[0] != 'P' {
		return 0, bad
	}
	var d time.Duration
	inTime, seen := false, false
	num := ""
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, bad
			}
			inTime = true
		case (c >= '0' && c <= '9') || c == '.':
			num += string(c)
		default:
			if num == "" {
				return 0, bad
			}
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f < 0 || f > 1e9 {
				return 0, bad
			}
			var unit time.Duration
			switch {
			case c == 'D' && !inTime:
				unit = 24 * time.Hour
			case c == 'W' && !inTime:
				unit = 7 * 24 * time.Hour
			case c == 'H' && inTime:
				unit = time.Hour
			case c == 'M' && inTime:
				unit = time.Minute
			case c == 'S' && inTime:
				unit = time.Second
			default:
				return 0, bad
			}
			d += time.Duration(f * float64(unit))
			num, seen = "", true
		}
	}
	if num != "" || !seen {
		return 0, bad
	}
	return d, nil
}
