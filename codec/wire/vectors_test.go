package wire

import (
	"time"

	"github.com/onecse/onecse/primitive"
)

// The test vectors: one table of documents with what each decodes to (as
// mochi-mqtt keeps its packets in packets/tpackets.go). Every vector runs in
// JSON and, converted, in CBOR; every accepted one must also survive
// encode → decode unchanged.

var vNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
var vTS = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newReq(f func(*primitive.Request)) *primitive.Request {
	r := primitive.NewRequest()
	f(r)
	return r
}

func i64p(n int64) *int64 { return &n }
func boolp(b bool) *bool  { return &b }

type vector struct {
	desc string
	doc  string // JSON
	req  *primitive.Request
	resp *primitive.Response
	// For failures: the code, and a text the error must name.
	rsc    primitive.RSC
	names  string
	hasRQI bool // the failed request still carries rqi "r1"
}

var vectors = []vector{
	// Requests.
	{desc: "create container (protocol.md 1.1 example)",
		doc: `{"op":1,"to":"/id-in/cse-in/myAE","fr":"CmyAE","rqi":"req-0001","rvi":"3","ty":3,"pc":{"m2m:cnt":{"rn":"temperature","mni":100}}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI, r.Ty = 1, "/id-in/cse-in/myAE", "CmyAE", true, "req-0001", "3", 3
			r.Content = map[string]any{"m2m:cnt": map[string]any{"rn": "temperature", "mni": int64(100)}}
		})},
	{desc: "AE registration without fr (TS-0020 A.1)",
		doc: `{"op":1,"to":"//example.net/mncse1234","rqi":"A1000","rcn":1,"pc":{"m2m:ae":{"rn":"SmartHomeApplication","api":"Na56","apn":"app1234"}},"ty":2}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.RQI, r.RCN, r.Ty = 1, "//example.net/mncse1234", "A1000", 1, 2
			r.Content = map[string]any{"m2m:ae": map[string]any{"rn": "SmartHomeApplication", "api": "Na56", "apn": "app1234"}}
		})},
	{desc: "AE registration with an empty fr",
		doc: `{"op":1,"to":"cse-in","fr":"","rqi":"r1","rvi":"3","ty":2,"pc":{"m2m:ae":{"api":"Nx","rr":false}}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.FromPresent, r.RQI, r.RVI, r.Ty = 1, "cse-in", true, "r1", "3", 2
			r.Content = map[string]any{"m2m:ae": map[string]any{"api": "Nx", "rr": false}}
		})},
	{desc: "retrieve with every optional parameter",
		doc: `{"op":2,"to":"cse-in/ae/cnt","fr":"Cae","rqi":"r1","rvi":"3","rcn":4,"rt":{"rtv":3},"rp":"PT10S",
			"rqet":"20250601T120100","rset":60000,"oet":"20250601T120000","ot":"20250102T030405","ec":3,"da":false,
			"gid":"g1","drt":2,"vsi":"v1","rids":["role1","role2"],"sqi":false}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI = 2, "cse-in/ae/cnt", "Cae", true, "r1", "3"
			r.RCN, r.RT, r.RP = 4, &primitive.ResponseType{RTV: 3}, "PT10S"
			r.RQET, r.RSET, r.OET = vNow.Add(time.Minute), vNow.Add(time.Minute), vNow
			r.OT, r.EC, r.DA, r.GID, r.DRT, r.VSI, r.RIDs = "20250102T030405", 3, boolp(false), "g1", 2, "v1", []string{"role1", "role2"}
		})},
	{desc: "partial retrieve: pc holds m2m:atrl",
		doc: `{"op":2,"to":"cse-in/ae","fr":"Cae","rqi":"r1","rvi":"3","pc":{"m2m:atrl":["lbl","rr"]}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI, r.ATRL = 2, "cse-in/ae", "Cae", true, "r1", "3", []string{"lbl", "rr"}
		})},
	{desc: "discovery with filter criteria",
		doc: `{"op":2,"to":"cse-in","fr":"Cae","rqi":"r1","rvi":"3","rcn":6,"fc":{"fu":1,"ty":[3,4],"lbl":["a","k:v"],"lim":10,"lvl":2,"ofst":1,"fo":1,
			"crb":"20250102T030405","cra":"20250102T030405","ms":"20250102T030405","us":"20250102T030405","exb":"20250102T030405","exa":"20250102T030405",
			"sts":5,"stb":0,"sza":0,"szb":100,"cty":["text/plain"],"atr":[{"nm":"cr","val":"Cae"}]}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI, r.RCN = 2, "cse-in", "Cae", true, "r1", "3", 6
			r.FC = &primitive.FilterCriteria{FU: 1, FO: 1, Ty: []int{3, 4}, Labels: []string{"a", "k:v"}, Lim: 10, Lvl: 2, Ofst: 1,
				CRB: vTS, CRA: vTS, MS: vTS, US: vTS, EXB: vTS, EXA: vTS, STS: i64p(5), STB: i64p(0), SZA: i64p(0), SZB: i64p(100),
				ContentTypes: []string{"text/plain"}, Attrs: []primitive.AttrCond{{Name: "cr", Value: "Cae"}}}
		})},
	{desc: "discovery with labels and content queries",
		doc: `{"op":2,"to":"cse-in","fr":"Cae","rqi":"r1","rvi":"3","fc":{"fu":1,"lbq":["color IN (red, green)","NT k"],"cfs":1,"cfq":"$[?@.t > 20]"}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI = 2, "cse-in", "Cae", true, "r1", "3"
			e1, _ := primitive.ParseLabelExpr("color IN (red, green)")
			e2, _ := primitive.ParseLabelExpr("NT k")
			q, _ := primitive.ParseContentQuery("$[?@.t > 20]")
			r.FC = &primitive.FilterCriteria{FU: 1, Lim: -1, LabelsQuery: []primitive.LabelExpr{e1, e2}, CFS: 1, CFQ: q}
		})},
	{desc: "update with null to delete an attribute",
		doc: `{"op":3,"to":"cse-in/ae","fr":"Cae","rqi":"r1","rvi":"3","pc":{"m2m:ae":{"lbl":null}}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI = 3, "cse-in/ae", "Cae", true, "r1", "3"
			r.Content = map[string]any{"m2m:ae": map[string]any{"lbl": nil}}
		})},
	{desc: "delete", doc: `{"op":4,"to":"cse-in/ae","fr":"Cae","rqi":"r1","rvi":"3","rcn":0}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI, r.RCN = 4, "cse-in/ae", "Cae", true, "r1", "3", 0
		})},
	{desc: "notify with a non-blocking asynchronous result target",
		doc: `{"op":5,"to":"cse-in/ae","fr":"Cae","rqi":"r1","rvi":"3","rt":{"rtv":2,"nu":["http://x/"]},"pc":{"m2m:sgn":{"sur":"s"}}}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI, r.RVI = 5, "cse-in/ae", "Cae", true, "r1", "3"
			r.RT = &primitive.ResponseType{RTV: 2, NU: []string{"http://x/"}}
			r.Content = map[string]any{"m2m:sgn": map[string]any{"sur": "s"}}
		})},

	// Responses.
	{desc: "response (protocol.md 1.1 example)",
		doc:  `{"rsc":2001,"rqi":"req-0001","rvi":"3","pc":{"m2m:cnt":{"rn":"temperature","ty":3}}}`,
		resp: &primitive.Response{RSC: 2001, RQI: "req-0001", RVI: "3", PC: map[string]any{"m2m:cnt": map[string]any{"rn": "temperature", "ty": int64(3)}}}},
	{desc: "response with every optional parameter",
		doc:  `{"rsc":2000,"rqi":"A1234","to":"//xxxxx/2345","fr":"//xxxxx/99","ot":"20250102T030405","rset":"20250102T030405","ec":4,"cnst":1,"cnot":3,"vsi":"v"}`,
		resp: &primitive.Response{RSC: 2000, RQI: "A1234", To: "//xxxxx/2345", From: "//xxxxx/99", OT: "20250102T030405", RSET: vTS, EC: 4, CNST: 1, CNOT: 3, VSI: "v"}},

	// Requests that fail, with the code and what the error must name.
	{desc: "not an object", doc: `[1,2]`, rsc: 4000, names: "object"},
	{desc: "malformed", doc: `{"op":1,`, rsc: 4000, names: "JSON"},
	{desc: "no op nor rsc", doc: `{"to":"cse-in","fr":"C","rqi":"r1"}`, rsc: 4000, names: "op", hasRQI: true},
	{desc: "no to", doc: `{"op":2,"fr":"C","rqi":"r1"}`, rsc: 4000, names: "to", hasRQI: true},
	{desc: "empty to", doc: `{"op":2,"to":"","fr":"C","rqi":"r1"}`, rsc: 4000, names: "to", hasRQI: true},
	{desc: "op as a string", doc: `{"op":"1","to":"x","rqi":"r1"}`, rsc: 4000, names: "op", hasRQI: true},
	{desc: "op with a fraction", doc: `{"op":1.0,"to":"x","rqi":"r1"}`, rsc: 4000, names: "op", hasRQI: true},
	{desc: "op out of range", doc: `{"op":6,"to":"x","rqi":"r1"}`, rsc: 4000, names: "op", hasRQI: true},
	{desc: "rqi as a number", doc: `{"op":2,"to":"x","rqi":1}`, rsc: 4000, names: "rqi"},
	{desc: "rvi as a number", doc: `{"op":2,"to":"x","rqi":"r1","rvi":3}`, rsc: 4000, names: "rvi", hasRQI: true},
	{desc: "fr as a list", doc: `{"op":2,"to":"x","rqi":"r1","fr":["C"]}`, rsc: 4000, names: "fr", hasRQI: true},
	{desc: "ty as a string", doc: `{"op":1,"to":"x","rqi":"r1","ty":"3","pc":{}}`, rsc: 4000, names: "ty", hasRQI: true},
	{desc: "pc as a string", doc: `{"op":1,"to":"x","rqi":"r1","ty":3,"pc":"{}"}`, rsc: 4000, names: "pc", hasRQI: true},
	{desc: "unknown parameter", doc: `{"op":2,"to":"x","rqi":"r1","fr":"C","xyz":1}`, rsc: 4000, names: "xyz", hasRQI: true},
	{desc: "a response member in a request", doc: `{"op":2,"to":"x","rqi":"r1","rsc":2000}`, rsc: 4000, names: "rsc", hasRQI: true},
	{desc: "top-level atrl (it belongs in pc)", doc: `{"op":2,"to":"x","rqi":"r1","atrl":["rn"]}`, rsc: 4000, names: "atrl", hasRQI: true},
	{desc: "rcn out of range", doc: `{"op":2,"to":"x","rqi":"r1","rcn":13}`, rsc: 4000, names: "rcn", hasRQI: true},
	{desc: "rcn as a string", doc: `{"op":2,"to":"x","rqi":"r1","rcn":"1"}`, rsc: 4000, names: "rcn", hasRQI: true},
	{desc: "rt as a number", doc: `{"op":2,"to":"x","rqi":"r1","rt":3}`, rsc: 4000, names: "rt", hasRQI: true},
	{desc: "rt without rtv", doc: `{"op":2,"to":"x","rqi":"r1","rt":{"nu":[]}}`, rsc: 4000, names: "rtv", hasRQI: true},
	{desc: "rt with an unknown member", doc: `{"op":2,"to":"x","rqi":"r1","rt":{"rtv":3,"x":1}}`, rsc: 4000, names: "x", hasRQI: true},
	{desc: "nu with a blocking request", doc: `{"op":2,"to":"x","rqi":"r1","rt":{"rtv":3,"nu":["u"]}}`, rsc: 4000, names: "rt.nu", hasRQI: true},
	{desc: "rqet not a time", doc: `{"op":2,"to":"x","rqi":"r1","rqet":"soon"}`, rsc: 4000, names: "rqet", hasRQI: true},
	{desc: "ot not a timestamp", doc: `{"op":2,"to":"x","rqi":"r1","ot":20150910}`, rsc: 4000, names: "ot", hasRQI: true},
	{desc: "ec not a category", doc: `{"op":2,"to":"x","rqi":"r1","ec":50}`, rsc: 4000, names: "ec", hasRQI: true},
	{desc: "da as a string", doc: `{"op":2,"to":"x","rqi":"r1","da":"true"}`, rsc: 4000, names: "da", hasRQI: true},
	{desc: "rids as a string", doc: `{"op":2,"to":"x","rqi":"r1","rids":"a"}`, rsc: 4000, names: "rids", hasRQI: true},
	{desc: "fc as a list", doc: `{"op":2,"to":"x","rqi":"r1","fc":[]}`, rsc: 4000, names: "fc", hasRQI: true},
	{desc: "fc unknown member", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"fu":1,"bogus":2}}`, rsc: 4000, names: "bogus", hasRQI: true},
	{desc: "fc ty not a list", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"ty":3}}`, rsc: 4000, names: "ty", hasRQI: true},
	{desc: "fc lim negative", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"lim":-1}}`, rsc: 4000, names: "lim", hasRQI: true},
	{desc: "retrieve content other than atrl", doc: `{"op":2,"to":"x","rqi":"r1","pc":{"m2m:cnt":{}}}`, rsc: 4000, names: "m2m:atrl", hasRQI: true},
	{desc: "delete with content", doc: `{"op":4,"to":"x","rqi":"r1","pc":{"m2m:cnt":{}}}`, rsc: 4000, names: "DELETE", hasRQI: true},
	{desc: "duplicate member", doc: `{"op":2,"op":3,"to":"x","rqi":"r1"}`, rsc: 4000, names: "duplicate"},
	{desc: "tokens", doc: `{"op":2,"to":"x","rqi":"r1","tkns":["t"]}`, rsc: 5001, names: "tkns", hasRQI: true},
	{desc: "semantic query", doc: `{"op":2,"to":"x","rqi":"r1","sqi":true}`, rsc: 5001, names: "sqi", hasRQI: true},
	{desc: "labels query malformed", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"lbq":["a EQ"]}}`, rsc: 4000, names: "lbq", hasRQI: true},
	{desc: "content query without syntax", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"cfq":"$.a"}}`, rsc: 4000, names: "cfs", hasRQI: true},
	{desc: "content syntax without query", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"cfs":1}}`, rsc: 4000, names: "cfq", hasRQI: true},
	{desc: "content query malformed", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"cfs":1,"cfq":"$["}}`, rsc: 4000, names: "cfq", hasRQI: true},
	{desc: "semantics filter", doc: `{"op":2,"to":"x","rqi":"r1","fc":{"smf":["SELECT ?s WHERE {}"]}}`, rsc: 5001, names: "smf", hasRQI: true},

	// Responses that fail.
	{desc: "response rsc as a string", doc: `{"rsc":"2000","rqi":"r1"}`, rsc: 4000, names: "rsc"},
	{desc: "response rsc out of range", doc: `{"rsc":200,"rqi":"r1"}`, rsc: 4000, names: "rsc"},
	{desc: "response unknown member", doc: `{"rsc":2000,"rqi":"r1","ty":3}`, rsc: 4000, names: "ty"},
	{desc: "response cnst out of range", doc: `{"rsc":2000,"rqi":"r1","cnst":3}`, rsc: 4000, names: "cnst"},
}

func init() {
	vectors = append(vectors, vector{desc: "group request target members (grtm) and identifier (gid)",
		doc: `{"op":2,"to":"cse-in/g/fopt","fr":"C","rqi":"r2","gid":"job-7","grtm":["cnt1","/id-mn/cse-mn/pub"]}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI = 2, "cse-in/g/fopt", "C", true, "r2"
			r.GID, r.GRTM = "job-7", []string{"cnt1", "/id-mn/cse-mn/pub"}
		})})
	vectors = append(vectors, vector{desc: "nanosecond timestamps survive",
		doc: `{"op":2,"to":"x","fr":"C","rqi":"r1","rqet":"20250601T120000,123456789"}`,
		req: newReq(func(r *primitive.Request) {
			r.Op, r.To, r.From, r.FromPresent, r.RQI = 2, "x", "C", true, "r1"
			r.RQET = vNow.Add(123456789)
		})})
}
