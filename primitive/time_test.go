package primitive

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"20250102T030405", base},
		{"20250102T030405Z", base},
		{"20250102T030405,1", base.Add(100 * time.Millisecond)},
		{"20250102T030405,123", base.Add(123 * time.Millisecond)},
		{"20250102T030405,123456", base.Add(123456 * time.Microsecond)},
		{"20250102T030405,123456789", base.Add(123456789)},
		{"20250102T030405.5", base.Add(500 * time.Millisecond)},
		{"20250102T030405,000000Z", base},
		{"20241231T235959", time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"20240229T000000", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
	} {
		got, ok := ParseTime(tc.in)
		if !ok || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{
		"", "2025", "20250102", "20250102T0304", "2025-01-02T03:04:05", "2025-01-02T03:04:05Z",
		"20250102T030405,", "20250102T030405,1234567890", "20250102T030405,12a", "20250102T030405+01:00",
		"20250102 030405", "20251302T030405", "20250230T000000", "20250102T250000", "20250102T030460",
		"20250102t030405", "20250102T030405ZZ", "x0250102T030405", "+0250102T030405",
	} {
		if got, ok := ParseTime(in); ok {
			t.Errorf("ParseTime(%q) = %v, want invalid", in, got)
		}
	}
}

func TestFormatTime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "20250102T030405,000000"},
		{time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC), "20250102T030405,123456"},
		{time.Date(2025, 1, 2, 4, 4, 5, 1000, time.FixedZone("CET", 3600)), "20250102T030405,000001"},
	} {
		got := FormatTime(tc.in)
		if got != tc.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.in, got, tc.want)
		}
		back, ok := ParseTime(got)
		if !ok || !back.Equal(tc.in.Truncate(time.Microsecond)) {
			t.Errorf("ParseTime(FormatTime(%v)) = %v, %v", tc.in, back, ok)
		}
	}
	// Fixed width: string order is time order.
	a := FormatTime(time.Date(2025, 1, 2, 3, 4, 5, 9000, time.UTC))
	b := FormatTime(time.Date(2025, 1, 2, 3, 4, 5, 10000, time.UTC))
	if !(a < b) || len(a) != len(b) {
		t.Errorf("%q and %q do not sort as times", a, b)
	}
}

func TestParseAbsRelTime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"0", now},
		{"1000", now.Add(time.Second)},
		{"+1500", now.Add(1500 * time.Millisecond)},
		{"-60000", now.Add(-time.Minute)},
		{"86400000", now.Add(24 * time.Hour)},
		{"20250601T120005", now.Add(5 * time.Second)},
		{"20250601T120005,250", now.Add(5250 * time.Millisecond)},
		{"3153600000000", now.Add(100 * 365 * 24 * time.Hour)},
	} {
		got, ok := ParseAbsRelTime(tc.in, now)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("ParseAbsRelTime(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
	for _, in := range []string{"", "1.5", "1e3", "abc", "10s", "PT10S", "3153600000001", "-3153600000001", "99999999999999999999", " 100"} {
		if got, ok := ParseAbsRelTime(in, now); ok {
			t.Errorf("ParseAbsRelTime(%q) = %v, want invalid", in, got)
		}
	}
}

func TestIsDuration(t *testing.T) {
	for _, in := range []string{"PT10S", "P1Y2M3DT10H1M0S", "-P1D", "PT0.5S", "P0D", "PT1H", "P1M", "PT1M", "P1Y", "P1DT1S"} {
		if !IsDuration(in) {
			t.Errorf("IsDuration(%q) = false", in)
		}
	}
	for _, in := range []string{"", "P", "PT", "P1", "1D", "P1H", "PT1D", "P1DT", "PT1.S", "PT.5S", "P1.5D", "PT1S1M", "P1D1D", "PT-1S", "P1Y2Y", "--P1D", "pt1s"} {
		if IsDuration(in) {
			t.Errorf("IsDuration(%q) = true", in)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"20250102T030405", "20250102T030405,123456", "20250102T030405.5Z", "20250230T000000", "", "2025-01-02T03:04:05Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		if !ok {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) is not UTC: %v", s, got)
		}
		// What parses formats back to the same instant (to the microsecond
		// FormatTime keeps).
		back, ok := ParseTime(FormatTime(got))
		if !ok || !back.Equal(got.Truncate(time.Microsecond)) {
			t.Fatalf("ParseTime(%q) = %v, but FormatTime reads back as %v, %v", s, got, back, ok)
		}
	})
}

func FuzzParseAbsRelTime(f *testing.F) {
	for _, s := range []string{"0", "1000", "-1000", "+5", "20250102T030405", "20250102T030405,1", "9223372036854775807", "1e3", ""} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseAbsRelTime(s, now)
		if !ok {
			return
		}
		// Relative values stay within the hundred years the parser allows,
		// absolute ones are what ParseTime says.
		if abs, isAbs := ParseTime(s); isAbs {
			if !got.Equal(abs) {
				t.Fatalf("ParseAbsRelTime(%q) = %v, ParseTime says %v", s, got, abs)
			}
			return
		}
		if d := got.Sub(now); d > 100*365*24*time.Hour || d < -100*365*24*time.Hour {
			t.Fatalf("ParseAbsRelTime(%q) = %v, %v from now", s, got, d)
		}
	})
}
