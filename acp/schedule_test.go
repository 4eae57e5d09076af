package acp

import (
	"strings"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestScheduleMatches(t *testing.T) {
	// 2025-01-06 is a Monday, 2025-01-11 a Saturday, 2025-01-05 a Sunday.
	mon10 := utc(2025, 1, 6, 10, 0, 0)
	plus2 := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		entry string
		t     time.Time
		want  bool
	}{
		// Office hours, the protocol.md example.
		{"* * 8-18 * * 1-5 *", mon10, true},
		{"* * 8-18 * * 1-5 *", utc(2025, 1, 11, 10, 0, 0), false}, // Saturday
		{"* * 8-18 * * 1-5 *", utc(2025, 1, 6, 18, 59, 59), true},
		{"* * 8-18 * * 1-5 *", utc(2025, 1, 6, 19, 0, 0), false},
		{"* * 8-18 * * 1-5 *", utc(2025, 1, 6, 7, 59, 59), false},
		// Evaluated in UTC whatever the location of t.
		{"* * 8-18 * * 1-5 *", time.Date(2025, 1, 6, 12, 0, 0, 0, plus2), true},  // 10:00Z
		{"* * 8-18 * * 1-5 *", time.Date(2025, 1, 6, 9, 30, 0, 0, plus2), false}, // 07:30Z
		// TS-0004 7.4.9.1 examples.
		{"* 0-5 2,6,10 * * * *", utc(2025, 3, 3, 2, 3, 0), true},
		{"* 0-5 2,6,10 * * * *", utc(2025, 3, 3, 6, 5, 59), true},
		{"* 0-5 2,6,10 * * * *", utc(2025, 3, 3, 6, 6, 0), false},
		{"* 0-5 2,6,10 * * * *", utc(2025, 3, 3, 3, 3, 0), false},
		{"* * 0-23/2 * * * *", utc(2025, 3, 3, 4, 0, 0), true},
		{"* * 0-23/2 * * * *", utc(2025, 3, 3, 5, 0, 0), false},
		{"* * * * * */2 *", utc(2025, 1, 5, 0, 0, 0), true},  // Sunday
		{"* * * * * */2 *", utc(2025, 1, 6, 0, 0, 0), false}, // Monday
		{"* * * * * */2 *", utc(2025, 1, 7, 0, 0, 0), true},  // Tuesday
		{"* * * * * */2 *", utc(2025, 1, 11, 0, 0, 0), true}, // Saturday
		// Seconds and steps.
		{"*/15 * * * * * *", utc(2025, 1, 1, 0, 0, 45), true},
		{"*/15 * * * * * *", utc(2025, 1, 1, 0, 0, 7), false},
		{"10-20/5 * * * * * *", utc(2025, 1, 1, 0, 0, 15), true},
		{"10-20/5 * * * * * *", utc(2025, 1, 1, 0, 0, 16), false},
		{"10-20/5 * * * * * *", utc(2025, 1, 1, 0, 0, 25), false},
		{"0 0 12 * * * *", utc(2025, 1, 1, 12, 0, 0), true},
		{"0 0 12 * * * *", utc(2025, 1, 1, 12, 0, 1), false},
		// Day-of-week 7 is Sunday as well.
		{"* * * * * 7 *", utc(2025, 1, 5, 0, 0, 0), true},
		{"* * * * * 7 *", utc(2025, 1, 6, 0, 0, 0), false},
		{"* * * * * 5-7 *", utc(2025, 1, 10, 0, 0, 0), true}, // Friday
		{"* * * * * 5-7 *", utc(2025, 1, 5, 0, 0, 0), true},  // Sunday
		{"* * * * * 5-7 *", utc(2025, 1, 6, 0, 0, 0), false}, // Monday
		// Day-of-month AND day-of-week (no classic-cron OR).
		{"* * * 1 * 1 *", utc(2025, 9, 1, 0, 0, 0), true},  // Monday the 1st
		{"* * * 1 * 1 *", utc(2025, 1, 1, 0, 0, 0), false}, // Wednesday the 1st
		{"* * * 1 * 1 *", utc(2025, 1, 6, 0, 0, 0), false}, // Monday the 6th
		// Month, leap day, year.
		{"0 0 0 29 2 * *", utc(2024, 2, 29, 0, 0, 0), true},
		{"* * * * 1,3 * *", utc(2025, 2, 1, 0, 0, 0), false},
		{"* * * * 1,3 * *", utc(2025, 3, 1, 0, 0, 0), true},
		{"* * * * * * 2025", mon10, true},
		{"* * * * * * 2025", utc(2026, 1, 6, 10, 0, 0), false},
		{"* * * * * * 2020-2030/5", mon10, true},
		{"* * * * * * 2020-2030/5", utc(2026, 1, 1, 0, 0, 0), false},
		{"* * * * * * */2", utc(2026, 1, 1, 0, 0, 0), true}, // 2000, 2002, ...
		{"* * * * * * */2", mon10, false},
		{"* * * * * * *", utc(1999, 12, 31, 23, 59, 59), false}, // before 2000
		// White space between fields is flexible.
		{"  *\t* 10  * * * *  ", mon10, true},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.entry)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tc.entry, err)
			continue
		}
		if got := s.Matches(tc.t); got != tc.want {
			t.Errorf("%q.Matches(%s) = %v, want %v", tc.entry, tc.t.Format(time.RFC3339), got, tc.want)
		}
	}
}

func TestScheduleZeroValueMatchesNothing(t *testing.T) {
	var s Schedule
	if s.Matches(utc(2025, 1, 1, 0, 0, 0)) {
		t.Fatal("zero Schedule must not match")
	}
}

func TestScheduleString(t *testing.T) {
	s, err := ParseSchedule(" *  * 8-18 * * 1-5 * ")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "* * 8-18 * * 1-5 *" {
		t.Fatalf("String() = %q", got)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		entry   string
		wantErr string // substring
	}{
		{"", "want 7 fields"},
		{"* * * * * *", "got 6"},
		{"* * * * * * * *", "got 8"},
		{"60 * * * * * *", `second field "60": value 60 out of range 0..59`},
		{"* 60 * * * * *", "minute field"},
		{"* * 24 * * * *", `hour field "24": value 24 out of range 0..23`},
		{"* * * 0 * * *", "day-of-month field"},
		{"* * * 32 * * *", "day-of-month field"},
		{"* * * * 0 * *", "month field"},
		{"* * * * 13 * *", "month field"},
		{"* * * * * 8 *", "day-of-week field"},
		{"* * * * * * 1999", "year field"},
		{"* * * * * * 10000", "year field"},
		{"* * 5-3 * * * *", "descending"},
		{"*/0 * * * * * *", "step 0 out of range"},
		{"*/61 * * * * * *", "step 61 out of range"},
		{"0-59/0 * * * * * *", "step 0"},
		{"a * * * * * *", "not a decimal number"},
		{"1,,2 * * * * * *", "empty list element"},
		{",1 * * * * * *", "empty list element"},
		{"1, * * * * * *", "empty list element"},
		{"1- * * * * * *", "missing number"},
		{"-1 * * * * * *", "missing number"},
		{"1-2-3 * * * * * *", "not a decimal number"},
		{"5/2 * * * * * *", "needs a range"},
		{"*/ * * * * * *", "missing step"},
		{"** * * * * * *", `"*" may only be followed by "/step"`},
		{"*,1 * * * * * *", `"*" may only be followed`},
		{"1,* * * * * * *", "not a decimal number"},
		{"1-5/ * * * * * *", "missing step"},
		{"1-5/x * * * * * *", "not a decimal number"},
		{"+1 * * * * * *", "not a decimal number"},
		{"\uff11 * * * * * *", "not a decimal number"}, // full-width digit
		{"* * * * * MON *", "not a decimal number"},
		{"* * * * JAN * *", "not a decimal number"},
		{"0x10 * * * * * *", "not a decimal number"},
		{"99999999999 * * * * * *", "too long"},
		{"* * * * * * 2000-2001/99999999999", "too long"},
	}
	for _, tc := range tests {
		_, err := ParseSchedule(tc.entry)
		if err == nil {
			t.Errorf("ParseSchedule(%q): no error", tc.entry)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseSchedule(%q) error %q, want it to contain %q", tc.entry, err, tc.wantErr)
		}
	}
}
