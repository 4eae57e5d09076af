// Package wire serialises whole request and response primitives with their
// short names, as JSON (TS-0004 8.4) or CBOR (TS-0004 8.5): the form the MQTT
// (TS-0010 6.5) and WebSocket (TS-0020 6.1) bindings carry in one message,
// where the HTTP and CoAP bindings spread the parameters over headers,
// options and the query string and carry only the content.
//
// In JSON and CBOR a primitive is a flat object, not wrapped in m2m:rqp or
// m2m:rsp; a request is told from a response by its op member (TS-0020
// Annex A note). Decoding is strict: every member must have its type
// (integers are integers, lists are lists), an unknown member is a 4000 naming
// it, and the request parameters and filter conditions follow the same rules
// as the HTTP binding's query string (primitive.SetParam, primitive.SetFilter).
// The core never imports this package.
package wire

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// Decode reads one serialised primitive. A document with an op member is a
// request, one with rsc and no op a response; one with neither is taken for a
// request that lacks its op.
//
// On failure the error is a *primitive.Error (4000, or 5001 for a parameter
// onecse does not implement) and, when the document was an object that is
// not a response, req is the request as far as it was read, with its rqi and
// rvi when they could be read, so that the error can be answered to it.
func Decode(f codec.Format, data []byte, now time.Time) (req *primitive.Request, resp *primitive.Response, err error) {
	m, err := codec.Decode(f, data)
	if err != nil {
		return nil, nil, primitive.Errorf(primitive.RSCBadRequest, "the primitive is not a %s object: %v", f, err)
	}
	_, hasOp := m["op"]
	_, hasRSC := m["rsc"]
	if hasRSC && !hasOp {
		resp, err = ResponseFromMap(m, now)
		return nil, resp, err
	}
	req, err = RequestFromMap(m, now)
	return req, nil, err
}

// DecodeRequest reads a serialised request primitive; a response is a 4000.
func DecodeRequest(f codec.Format, data []byte, now time.Time) (*primitive.Request, error) {
	req, resp, err := Decode(f, data, now)
	if resp != nil {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a response primitive where a request was expected")
	}
	return req, err
}

// DecodeResponse reads a serialised response primitive; a request is a 4000.
func DecodeResponse(f codec.Format, data []byte, now time.Time) (*primitive.Response, error) {
	m, err := codec.Decode(f, data)
	if err != nil {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "the primitive is not a %s object: %v", f, err)
	}
	if _, ok := m["op"]; ok {
		return nil, primitive.Errorf(primitive.RSCBadRequest, "a request primitive where a response was expected")
	}
	return ResponseFromMap(m, now)
}

func bad(format string, args ...any) error {
	return primitive.Errorf(primitive.RSCBadRequest, format, args...)
}

// str reads a text member.
func str(m map[string]any, name string) (string, bool, error) {
	v, ok := m[name]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, bad("%s must be a string, not %s", name, describe(v))
	}
	return s, true, nil
}

// integer reads an integer member in [min, max].
func integer(name string, v any, min, max int64) (int, error) {
	n, ok := v.(int64)
	if !ok || n < min || n > max {
		return 0, bad("%s must be an integer from %d to %d, not %s", name, min, max, describe(v))
	}
	return int(n), nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case int64, uint64, float64, bool:
		return fmtAny(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case []byte:
		return "a byte string"
	}
	return "a value of another type"
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// validEC is m2m:stdEventCats: 2 immediate, 3 bestEffort, 4 latest, and
// 100-999 for the operator to define.
func validEC(n int) bool { return n >= 2 && n <= 4 || n >= 100 && n <= 999 }

// RequestFromMap builds a request primitive from a decoded document (the
// canonical shape of package codec). See Decode for the error contract.
func RequestFromMap(m map[string]any, now time.Time) (*primitive.Request, error) {
	req := primitive.NewRequest()
	// The identity first, so that even an error answer carries rqi and rvi.
	var err error
	if req.RQI, _, err = str(m, "rqi"); err != nil {
		return req, err
	}
	if req.RVI, _, err = str(m, "rvi"); err != nil {
		return req, err
	}
	var pc map[string]any
	hasOp, hasTo := false, false
	for _, name := range slices.Sorted(maps.Keys(m)) { // the first error is the same every time
		v := m[name]
		switch name {
		case "rqi", "rvi":
		case "op":
			var n int
			if n, err = integer("op", v, 1, 5); err == nil {
				req.Op, hasOp = primitive.Operation(n), true
			}
		case "to":
			if req.To, _, err = str(m, name); err == nil && req.To == "" {
				err = bad("to must not be empty")
			}
			hasTo = true
		case "fr":
			req.From, req.FromPresent, err = str(m, name)
		case "ty":
			req.Ty, err = integer("ty", v, 1, 65535)
		case "pc":
			var ok bool
			if pc, ok = v.(map[string]any); !ok {
				err = bad("pc must be an object, not %s", describe(v))
			}
		case "rt":
			req.RT, err = responseType(v)
		case "rqet":
			req.RQET, err = primitive.MemberTime(name, v, now)
		case "rset":
			req.RSET, err = primitive.MemberTime(name, v, now)
		case "oet":
			req.OET, err = primitive.MemberTime(name, v, now)
		case "ot":
			if req.OT, _, err = str(m, name); err == nil {
				if _, ok := primitive.ParseTime(req.OT); !ok {
					err = bad("ot must be a timestamp (20250102T030405), not %s", describe(v))
				}
			}
		case "ec":
			if req.EC, err = integer("ec", v, 2, 999); err == nil && !validEC(req.EC) {
				err = bad("ec %d is not an event category (2, 3, 4 or 100-999)", req.EC)
			}
		case "gid":
			req.GID, _, err = str(m, name)
		case "vsi":
			req.VSI, _, err = str(m, name)
		case "fc":
			req.FC, err = filterCriteria(v)
		case "tkns":
			err = primitive.Errorf(primitive.RSCNotImplemented, "dynamic authorization tokens (tkns) are not supported")
		case "aus":
			err = primitive.Errorf(primitive.RSCNotImplemented, "authorization signatures (aus) are not supported")
		default:
			var ok bool
			if ok, err = primitive.SetParam(req, name, v, now); !ok && err == nil {
				err = bad("unknown request parameter %q", name)
			}
		}
		if err != nil {
			return req, err
		}
	}
	if !hasOp {
		return req, bad("the operation (op) is missing")
	}
	if !hasTo {
		return req, bad("the target (to) is missing")
	}
	if pc != nil {
		if err := req.SetContent(pc); err != nil {
			return req, err
		}
	}
	if req.RT != nil && req.RT.NU != nil {
		if err := req.RT.CheckNU("rt.nu"); err != nil {
			return req, err
		}
	}
	return req, nil
}

// responseType reads rt: {rtv, nu} (m2m:responseTypeInfo, TS-0004 6.3.5.30).
func responseType(v any) (*primitive.ResponseType, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad("rt must be an object {rtv, nu}, not %s", describe(v))
	}
	rt := &primitive.ResponseType{}
	rtv, ok := m["rtv"]
	if !ok {
		return nil, bad("rt.rtv is missing")
	}
	var err error
	if rt.RTV, err = integer("rt.rtv", rtv, 1, 5); err != nil {
		return nil, err
	}
	for name, v := range m {
		switch name {
		case "rtv":
		case "nu":
			l, ok := v.([]any)
			if !ok {
				return nil, bad("rt.nu must be a list of strings, not %s", describe(v))
			}
			rt.NU = []string{}
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, bad("rt.nu must be a list of strings")
				}
				rt.NU = append(rt.NU, s)
			}
		default:
			return nil, bad("unknown member %q of rt", name)
		}
	}
	return rt, nil
}

// filterCriteria reads fc (m2m:filterCriteria).
func filterCriteria(v any) (*primitive.FilterCriteria, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bad("fc must be an object, not %s", describe(v))
	}
	fc := primitive.NewFilterCriteria()
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if err := primitive.SetFilter(fc, name, m[name]); err != nil {
			return nil, err
		}
	}
	if err := fc.Check(); err != nil {
		return nil, err
	}
	return fc, nil
}

// ResponseFromMap builds a response primitive from a decoded document. Every
// failure is a 4000 naming the member.
func ResponseFromMap(m map[string]any, now time.Time) (*primitive.Response, error) {
	resp := &primitive.Response{}
	hasRSC := false
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		var err error
		switch name {
		case "rsc":
			var n int
			if n, err = integer("rsc", v, 1000, 6999); err == nil {
				resp.RSC, hasRSC = primitive.RSC(n), true
			}
		case "rqi":
			resp.RQI, _, err = str(m, name)
		case "rvi":
			resp.RVI, _, err = str(m, name)
		case "pc":
			var ok bool
			if resp.PC, ok = v.(map[string]any); !ok {
				err = bad("pc must be an object, not %s", describe(v))
			}
		case "to":
			resp.To, _, err = str(m, name)
		case "fr":
			resp.From, _, err = str(m, name)
		case "ot":
			if resp.OT, _, err = str(m, name); err == nil {
				if _, ok := primitive.ParseTime(resp.OT); !ok {
					err = bad("ot must be a timestamp (20250102T030405), not %s", describe(v))
				}
			}
		case "rset":
			resp.RSET, err = primitive.MemberTime(name, v, now)
		case "ec":
			if resp.EC, err = integer("ec", v, 2, 999); err == nil && !validEC(resp.EC) {
				err = bad("ec %d is not an event category (2, 3, 4 or 100-999)", resp.EC)
			}
		case "cnst":
			resp.CNST, err = integer("cnst", v, 1, 2)
		case "cnot":
			resp.CNOT, err = integer("cnot", v, 1, 1<<31-1)
		case "vsi":
			resp.VSI, _, err = str(m, name)
		default:
			err = bad("unknown response parameter %q", name)
		}
		if err != nil {
			return resp, err
		}
	}
	if !hasRSC {
		return resp, bad("the response status code (rsc) is missing")
	}
	return resp, nil
}

// EncodeRequest serialises a request primitive.
func EncodeRequest(f codec.Format, req *primitive.Request) ([]byte, error) {
	return codec.Encode(f, RequestMap(req))
}

// EncodeResponse serialises a response primitive.
func EncodeResponse(f codec.Format, resp *primitive.Response) ([]byte, error) {
	return codec.Encode(f, ResponseMap(resp))
}

// RequestMap is the document of a request primitive: every parameter that
// is present, with its short name. Timestamps given relative on receipt are
// written as the absolute times they stood for.
func RequestMap(req *primitive.Request) map[string]any {
	m := map[string]any{"op": int64(req.Op), "to": req.To, "rqi": req.RQI}
	if req.FromPresent || req.From != "" {
		m["fr"] = req.From
	}
	setStr(m, "rvi", req.RVI)
	if req.Ty > 0 {
		m["ty"] = int64(req.Ty)
	}
	switch {
	case req.Content != nil:
		m["pc"] = req.Content
	case len(req.ATRL) > 0:
		m["pc"] = map[string]any{"m2m:atrl": strList(req.ATRL)}
	}
	if req.RCN != primitive.RCNAbsent {
		m["rcn"] = int64(req.RCN)
	}
	if req.RT != nil {
		rt := map[string]any{"rtv": int64(req.RT.RTV)}
		if req.RT.NU != nil {
			rt["nu"] = strList(req.RT.NU)
		}
		m["rt"] = rt
	}
	setStr(m, "rp", req.RP)
	setTime(m, "rqet", req.RQET)
	setTime(m, "rset", req.RSET)
	setTime(m, "oet", req.OET)
	setStr(m, "ot", req.OT)
	if req.EC != 0 {
		m["ec"] = int64(req.EC)
	}
	if req.DA != nil {
		m["da"] = *req.DA
	}
	setStr(m, "gid", req.GID)
	if req.DRT != 0 {
		m["drt"] = int64(req.DRT)
	}
	if req.FC != nil {
		m["fc"] = FilterMap(req.FC)
	}
	setStr(m, "vsi", req.VSI)
	if req.RIDs != nil {
		m["rids"] = strList(req.RIDs)
	}
	if req.GRTM != nil {
		m["grtm"] = strList(req.GRTM)
	}
	return m
}

// FilterMap is the document of filter criteria (m2m:filterCriteria).
func FilterMap(fc *primitive.FilterCriteria) map[string]any {
	m := map[string]any{}
	setTime(m, "crb", fc.CRB)
	setTime(m, "cra", fc.CRA)
	setTime(m, "ms", fc.MS)
	setTime(m, "us", fc.US)
	setTime(m, "exb", fc.EXB)
	setTime(m, "exa", fc.EXA)
	for name, p := range map[string]*int64{"sts": fc.STS, "stb": fc.STB, "sza": fc.SZA, "szb": fc.SZB} {
		if p != nil {
			m[name] = *p
		}
	}
	for name, l := range map[string][]string{"lbl": fc.Labels, "cty": fc.ContentTypes, "clbl": fc.ChildLabels, "palb": fc.ParentLabels} {
		if l != nil {
			m[name] = strList(l)
		}
	}
	for name, l := range map[string][]int{"ty": fc.Ty, "chty": fc.ChildTy, "pty": fc.ParentTy} {
		if l != nil {
			m[name] = intList(l)
		}
	}
	if fc.Attrs != nil {
		atr := make([]any, 0, len(fc.Attrs))
		for _, a := range fc.Attrs {
			atr = append(atr, map[string]any{"nm": a.Name, "val": a.Value})
		}
		m["atr"] = atr
	}
	if fc.LabelsQuery != nil {
		lbq := make([]any, 0, len(fc.LabelsQuery))
		for _, e := range fc.LabelsQuery {
			lbq = append(lbq, e.String())
		}
		m["lbq"] = lbq
	}
	if fc.CFS != 0 {
		m["cfs"] = int64(fc.CFS)
	}
	if fc.CFQ != nil {
		m["cfq"] = fc.CFQ.String()
	}
	setStr(m, "arp", fc.ARP)
	for name, n := range map[string]int{"fu": fc.FU, "fo": fc.FO, "lvl": fc.Lvl, "ofst": fc.Ofst} {
		if n != 0 {
			m[name] = int64(n)
		}
	}
	if fc.Lim >= 0 {
		m["lim"] = int64(fc.Lim)
	}
	return m
}

// ResponseMap is the document of a response primitive.
func ResponseMap(resp *primitive.Response) map[string]any {
	m := map[string]any{"rsc": int64(resp.RSC), "rqi": resp.RQI}
	setStr(m, "rvi", resp.RVI)
	if resp.PC != nil {
		m["pc"] = resp.PC
	}
	setStr(m, "to", resp.To)
	setStr(m, "fr", resp.From)
	setStr(m, "ot", resp.OT)
	setTime(m, "rset", resp.RSET)
	if resp.EC != 0 {
		m["ec"] = int64(resp.EC)
	}
	if resp.CNST != 0 {
		m["cnst"] = int64(resp.CNST)
	}
	if resp.CNOT != 0 {
		m["cnot"] = int64(resp.CNOT)
	}
	setStr(m, "vsi", resp.VSI)
	return m
}

func setStr(m map[string]any, name, v string) {
	if v != "" {
		m[name] = v
	}
}

// setTime writes an absolute timestamp, with nanoseconds when the time has
// them (a received timestamp may carry nine digits), so that a primitive
// passed on says exactly what it was given.
func setTime(m map[string]any, name string, t time.Time) {
	if t.IsZero() {
		return
	}
	if ns := t.Nanosecond(); ns%1000 != 0 {
		m[name] = t.UTC().Format(primitive.TimeLayout) + "," + fmt.Sprintf("%09d", ns)
		return
	}
	m[name] = primitive.FormatTime(t)
}

func strList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func intList(l []int) []any {
	out := make([]any, len(l))
	for i, n := range l {
		out[i] = int64(n)
	}
	return out
}
