package acp

import (
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseFull(t *testing.T) {
	// The example of protocol.md 11.1 plus every optional member.
	in := `{"acr":[
		{"acor":["CmyAE","/id-mn/*"],"acop":35},
		{"acor":["all"],"acop":2,
		 "acco":[{"actw":["* * 8-18 * * 1-5 *"],
		          "acip":{"ipv4":["192.168.0.0/16","10.1.2.3"],"ipv6":["2001:db8::/32"]},
		          "aclr":{"accc":["de","FR"]}},
		         {"aclr":{"accr":[52.52,13.405,1000]}}]},
		{"acor":["CmyAE"],"acop":1,"acaf":true,
		 "acod":[{"chty":[4]},{"ty":13,"spty":1001,"chty":[23,9]},{"ty":28,"spty":"org.onem2m.home.light","chty":[23]},
		         {"spty":{"mgd":1002},"chty":[23]},{"spty":{"cnd":"x.y"},"chty":[23]}]}
	]}`
	got, err := Parse(mustJSON(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Rules{
		{Originators: []string{"CmyAE", "/id-mn/*"}, Operations: OpCreate | OpRetrieve | OpDiscovery},
		{Originators: []string{"all"}, Operations: OpRetrieve, Contexts: []Context{
			{
				Windows:      []Schedule{mustSchedule("* * 8-18 * * 1-5 *")},
				IPv4:         []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("10.1.2.3/32")},
				IPv6:         []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")},
				CountryCodes: []string{"DE", "FR"},
			},
			{Circle: &Circle{Lat: 52.52, Lon: 13.405, Radius: 1000}},
		}},
		{Originators: []string{"CmyAE"}, Operations: OpCreate, AuthRequired: true, ObjectDetails: []ObjectDetail{
			{ChildTypes: []int64{4}},
			{Ty: i64(13), Spty: i64(1001), ChildTypes: []int64{23, 9}},
			{Ty: i64(28), Cnd: "org.onem2m.home.light", ChildTypes: []int64{23}},
			{Spty: i64(1002), ChildTypes: []int64{23}},
			{Cnd: "x.y", ChildTypes: []int64{23}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse mismatch\n got: %+v\nwant: %+v", got, want)
	}
}

func TestParseAccepted(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want Rules
	}{
		{"empty object", map[string]any{}, Rules{}},
		{"acr null", map[string]any{"acr": nil}, Rules{}},
		{"acr empty", mustJSON(`{"acr":[]}`), Rules{}},
		{"acco single object", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":{"acip":{"ipv4":["10.0.0.0/8"]}}}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2, Contexts: []Context{{IPv4: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}}}},
		{"acco empty list", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":[]}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2}}},
		{"optional members null", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":null,"acaf":null,"acod":null}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2}}},
		{"empty context", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":[{}]}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2, Contexts: []Context{{}}}}},
		{"host bits masked", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":[{"acip":{"ipv4":["10.1.2.3/8"],"ipv6":["2001:db8::1/32","::1"]}}]}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2, Contexts: []Context{{
				IPv4: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
				IPv6: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128")},
			}}}}},
		{"acop as float64", map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": float64(63)}}},
			Rules{{Originators: []string{"all"}, Operations: 63}}},
		{"acop as json.Number", map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": json.Number("6")}}},
			Rules{{Originators: []string{"all"}, Operations: 6}}},
		{"acop as uint64 (CBOR)", map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": uint64(8)}}},
			Rules{{Originators: []string{"all"}, Operations: 8}}},
		{"acop as int", map[string]any{"acr": []any{map[string]any{"acor": []any{"all"}, "acop": 16}}},
			Rules{{Originators: []string{"all"}, Operations: 16}}},
		{"accr integers", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acco":[{"aclr":{"accr":[0,0,5]}}]}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2, Contexts: []Context{{Circle: &Circle{Radius: 5}}}}}},
		{"acaf false", mustJSON(`{"acr":[{"acor":["all"],"acop":2,"acaf":false}]}`),
			Rules{{Originators: []string{"all"}, Operations: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	rule := func(extra string) string { // a valid rule with extra members
		return `{"acr":[{"acor":["all"],"acop":2` + extra + `}]}`
	}
	ctx := func(c string) string { return rule(`,"acco":[` + c + `]`) }
	acod := func(o string) string { return rule(`,"acod":[` + o + `]`) }
	tests := []struct {
		in   string
		want string // exact error text
	}{
		{`null`, `pv: must be an object {"acr":[...]}`},
		{`[]`, `pv: must be an object {"acr":[...]}`},
		{`{"acr":"x"}`, `pv.acr: must be a list of access control rules`},
		{`{"acr":[],"x":1}`, `pv.x: unknown member (allowed: acr)`},
		{`{"acr":[5]}`, `pv.acr[0]: must be an object`},
		// acop
		{`{"acr":[{"acor":["all"],"acop":2},{"acor":["all"],"acop":0}]}`, `pv.acr[1].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"],"acop":64}]}`, `pv.acr[0].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"],"acop":-1}]}`, `pv.acr[0].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"],"acop":1.5}]}`, `pv.acr[0].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"],"acop":"63"}]}`, `pv.acr[0].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"],"acop":true}]}`, `pv.acr[0].acop: must be an integer 1..63`},
		{`{"acr":[{"acor":["all"]}]}`, `pv.acr[0].acop: is required`},
		{`{"acr":[{"acor":["all"],"acop":null}]}`, `pv.acr[0].acop: is required`},
		// acor
		{`{"acr":[{"acop":2}]}`, `pv.acr[0].acor: is required`},
		{`{"acr":[{"acor":[],"acop":2}]}`, `pv.acr[0].acor: must be a non-empty list of originator IDs`},
		{`{"acr":[{"acor":"all","acop":2}]}`, `pv.acr[0].acor: must be a non-empty list of originator IDs`},
		{`{"acr":[{"acor":["all",5],"acop":2}]}`, `pv.acr[0].acor[1]: must be a non-empty originator ID without white space`},
		{`{"acr":[{"acor":[""],"acop":2}]}`, `pv.acr[0].acor[0]: must be a non-empty originator ID without white space`},
		{`{"acr":[{"acor":["C AE"],"acop":2}]}`, `pv.acr[0].acor[0]: must be a non-empty originator ID without white space`},
		// unknown members fail closed
		{rule(`,"aca":["lbl"]`), `pv.acr[0].aca: unknown member (allowed: acor, acop, acco, acaf, acod)`},
		{ctx(`{"acui":["x"]}`), `pv.acr[0].acco[0].acui: unknown member (allowed: actw, acip, aclr)`},
		// acaf
		{rule(`,"acaf":"true"`), `pv.acr[0].acaf: must be a boolean`},
		// acco
		{rule(`,"acco":"x"`), `pv.acr[0].acco: must be a list of context objects`},
		{ctx(`5`), `pv.acr[0].acco[0]: must be an object`},
		{ctx(`{},7`), `pv.acr[0].acco[1]: must be an object`},
		{rule(`,"acco":{"actw":["bad"]}`), `pv.acr[0].acco.actw[0]: schedule entry "bad": want 7 fields (second minute hour day-of-month month day-of-week year), got 1`},
		// actw
		{ctx(`{"actw":"* * * * * * *"}`), `pv.acr[0].acco[0].actw: must be a list of schedule entries`},
		{ctx(`{"actw":[5]}`), `pv.acr[0].acco[0].actw[0]: must be a schedule entry string`},
		{ctx(`{"actw":["* * * * * * *","* * 25 * * * *"]}`), `pv.acr[0].acco[0].actw[1]: schedule entry "* * 25 * * * *": hour field "25": value 25 out of range 0..23`},
		// acip
		{ctx(`{"acip":"10.0.0.0/8"}`), `pv.acr[0].acco[0].acip: must be an object {ipv4:[...], ipv6:[...]}`},
		{ctx(`{"acip":{"ipv4":"10.0.0.0/8"}}`), `pv.acr[0].acco[0].acip.ipv4: must be a list of IPv4 addresses`},
		{ctx(`{"acip":{"ipv4":[4]}}`), `pv.acr[0].acco[0].acip.ipv4[0]: must be an IPv4 address string with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv4":["10.0.0.0/8","300.1.1.1"]}}`), `pv.acr[0].acco[0].acip.ipv4[1]: "300.1.1.1" is not an IPv4 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv4":["10.0.0.0/33"]}}`), `pv.acr[0].acco[0].acip.ipv4[0]: "10.0.0.0/33" is not an IPv4 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv4":["::1"]}}`), `pv.acr[0].acco[0].acip.ipv4[0]: "::1" is not an IPv4 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv4":["::ffff:10.0.0.1"]}}`), `pv.acr[0].acco[0].acip.ipv4[0]: "::ffff:10.0.0.1" is not an IPv4 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv6":["10.0.0.0/8"]}}`), `pv.acr[0].acco[0].acip.ipv6[0]: "10.0.0.0/8" is not an IPv6 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv6":["fe80::1%eth0"]}}`), `pv.acr[0].acco[0].acip.ipv6[0]: "fe80::1%eth0" is not an IPv6 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv6":["10.0.0.0/8 "]}}`), `pv.acr[0].acco[0].acip.ipv6[0]: "10.0.0.0/8 " is not an IPv6 address with optional CIDR suffix`},
		{ctx(`{"acip":{"ipv5":[]}}`), `pv.acr[0].acco[0].acip.ipv5: unknown member (allowed: ipv4, ipv6)`},
		// aclr
		{ctx(`{"aclr":"DE"}`), `pv.acr[0].acco[0].aclr: must be an object {accc:[...]} or {accr:[lat,lon,radius]}`},
		{ctx(`{"aclr":{}}`), `pv.acr[0].acco[0].aclr: must contain accc or accr`},
		{ctx(`{"aclr":{"accc":["DE"],"accr":[0,0,1]}}`), `pv.acr[0].acco[0].aclr: must contain either accc or accr, not both`},
		{ctx(`{"aclr":{"accc":[]}}`), `pv.acr[0].acco[0].aclr.accc: must be a non-empty list of country codes`},
		{ctx(`{"aclr":{"accc":["DE","DEU"]}}`), `pv.acr[0].acco[0].aclr.accc[1]: must be a 2-letter ISO 3166-1 country code`},
		{ctx(`{"aclr":{"accc":["D1"]}}`), `pv.acr[0].acco[0].aclr.accc[0]: must be a 2-letter ISO 3166-1 country code`},
		{ctx(`{"aclr":{"accr":[1,2]}}`), `pv.acr[0].acco[0].aclr.accr: must be a list of 3 numbers [latitude, longitude, radius]`},
		{ctx(`{"aclr":{"accr":[0,"x",1]}}`), `pv.acr[0].acco[0].aclr.accr[1]: must be a number`},
		{ctx(`{"aclr":{"accr":[90.5,0,1]}}`), `pv.acr[0].acco[0].aclr.accr[0]: latitude must be within -90..90`},
		{ctx(`{"aclr":{"accr":[0,-181,1]}}`), `pv.acr[0].acco[0].aclr.accr[1]: longitude must be within -180..180`},
		{ctx(`{"aclr":{"accr":[0,0,-1]}}`), `pv.acr[0].acco[0].aclr.accr[2]: radius must be a non-negative number of metres`},
		{ctx(`{"aclr":{"accc":["DE"],"x":1}}`), `pv.acr[0].acco[0].aclr.x: unknown member (allowed: accc, accr)`},
		// acod
		{rule(`,"acod":{"chty":[4]}`), `pv.acr[0].acod: must be a list of object details`},
		{acod(`5`), `pv.acr[0].acod[0]: must be an object`},
		{acod(`{}`), `pv.acr[0].acod[0].chty: is required`},
		{acod(`{"chty":[]}`), `pv.acr[0].acod[0].chty: must be a non-empty list of resource types`},
		{acod(`{"chty":4}`), `pv.acr[0].acod[0].chty: must be a non-empty list of resource types`},
		{acod(`{"chty":[4,0]}`), `pv.acr[0].acod[0].chty[1]: must be a positive resource type number`},
		{acod(`{"chty":["4"]}`), `pv.acr[0].acod[0].chty[0]: must be a positive resource type number`},
		{acod(`{"ty":"x","chty":[4]}`), `pv.acr[0].acod[0].ty: must be a positive resource type number`},
		{acod(`{"spty":true,"chty":[4]}`), `pv.acr[0].acod[0].spty: must be a mgmtDefinition number or a containerDefinition string`},
		{acod(`{"spty":-1,"chty":[4]}`), `pv.acr[0].acod[0].spty: must be a mgmtDefinition number or a containerDefinition string`},
		{acod(`{"spty":"","chty":[4]}`), `pv.acr[0].acod[0].spty: must be a non-empty containerDefinition`},
		{acod(`{"spty":{"mgd":1,"cnd":"x"},"chty":[4]}`), `pv.acr[0].acod[0].spty: must contain exactly one of mgd or cnd`},
		{acod(`{"spty":{},"chty":[4]}`), `pv.acr[0].acod[0].spty: must contain exactly one of mgd or cnd`},
		{acod(`{"spty":{"mgd":"x"},"chty":[4]}`), `pv.acr[0].acod[0].spty.mgd: must be a mgmtDefinition number`},
		{acod(`{"spty":{"cnd":5},"chty":[4]}`), `pv.acr[0].acod[0].spty.cnd: must be a containerDefinition string`},
		{acod(`{"chty":[4],"pty":[1]}`), `pv.acr[0].acod[0].pty: unknown member (allowed: ty, spty, chty)`},
	}
	for _, tc := range tests {
		_, err := Parse(mustJSON(tc.in))
		if err == nil {
			t.Errorf("Parse(%s): no error, want %q", tc.in, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%s)\n  error %q\n  want  %q", tc.in, err, tc.want)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(tc.want, pe.Path+": ") {
			t.Errorf("Parse(%s): error %T %v does not carry the path", tc.in, err, err)
		}
	}
}

func TestParseAttrPrefix(t *testing.T) {
	_, err := ParseAttr("pvs", mustJSON(`{"acr":[{"acor":["all"],"acop":99}]}`))
	if err == nil || err.Error() != "pvs.acr[0].acop: must be an integer 1..63" {
		t.Fatalf("got %v", err)
	}
}

func TestParseReportsFirstUnknownMemberDeterministically(t *testing.T) {
	in := `{"acr":[{"acor":["all"],"acop":2,"zz":1,"bb":2,"yy":3}]}`
	for range 20 { // map iteration order is random; the message must not be
		_, err := Parse(mustJSON(in))
		if err == nil || !strings.HasPrefix(err.Error(), "pv.acr[0].bb: unknown member") {
			t.Fatalf("got %v", err)
		}
	}
}

func TestNumberConversions(t *testing.T) {
	ints := []struct {
		in   any
		want int64
		ok   bool
	}{
		{int64(5), 5, true}, {int(5), 5, true}, {int32(5), 5, true}, {uint32(5), 5, true},
		{uint64(5), 5, true}, {uint64(1 << 63), 0, false},
		{float64(5), 5, true}, {5.5, 0, false}, {1e300, 0, false},
		{json.Number("5"), 5, true}, {json.Number("5.0"), 0, false},
		{"5", 0, false}, {nil, 0, false}, {true, 0, false},
	}
	for _, tc := range ints {
		got, ok := toInt(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("toInt(%#v) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	floats := []struct {
		in   any
		want float64
		ok   bool
	}{
		{1.5, 1.5, true}, {float32(0.5), 0.5, true}, {int64(2), 2, true}, {json.Number("2.5"), 2.5, true},
		{json.Number("x"), 0, false}, {math.NaN(), 0, false}, {math.Inf(1), 0, false}, {"1", 0, false},
	}
	for _, tc := range floats {
		got, ok := toFloat(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("toFloat(%#v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
