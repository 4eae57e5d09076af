package coap

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// inMsg is what decode reads of a CoAP request: its code, options and
// (reassembled) payload.
type inMsg struct {
	code codes.Code
	opts message.Options
	body []byte
}

// decoded is what decode makes of a CoAP request.
type decoded struct {
	req *primitive.Request
	// resp is the serialisation of the answer; set even when decoding
	// fails, so that the error is answered in the client's format.
	resp codec.MediaInfo
}

// option returns the single value of an option. A repeated oneM2M option is
// a 4000: none of them is repeatable (TS-0008 Table 6.2.2.4.0-1).
func option(opts message.Options, id message.OptionID, name string) ([]byte, bool, error) {
	var val []byte
	found := false
	for _, o := range opts {
		if o.ID != id {
			continue
		}
		if found {
			return nil, false, primitive.Errorf(primitive.RSCBadRequest, "option %s (%d) is given more than once", name, id)
		}
		val, found = o.Value, true
	}
	return val, found, nil
}

func stringOption(opts message.Options, id message.OptionID, name string) (string, bool, error) {
	v, ok, err := option(opts, id, name)
	return string(v), ok, err
}

func uintOption(opts message.Options, id message.OptionID, name string) (uint32, bool, error) {
	v, ok, err := option(opts, id, name)
	if err != nil || !ok {
		return 0, ok, err
	}
	if len(v) > 4 {
		return 0, false, primitive.Errorf(primitive.RSCBadRequest, "option %s (%d) is not an unsigned integer", name, id)
	}
	var n uint32
	for _, b := range v {
		n = n<<8 | uint32(b)
	}
	return n, true, nil
}

// decode builds the request primitive (TS-0008 clause 6, read in the
// receiver's direction). Every failure is a *primitive.Error.
func decode(m inMsg, now time.Time) (*decoded, error) {
	d := &decoded{req: primitive.NewRequest(), resp: codec.MediaInfo{Format: codec.JSON}}
	req := d.req
	opts := m.opts
	// The identity of the request first, so that an error answer echoes
	// the rqi and rvi.
	var err error
	if req.RQI, _, err = stringOption(opts, optRQI, "oneM2M-RQI"); err != nil {
		return d, err
	}
	if req.RVI, _, err = stringOption(opts, optRVI, "oneM2M-RVI"); err != nil {
		return d, err
	}

	// Serialisations: the payload's from Content-Format, the answer's from
	// Accept, else the payload's, else JSON (TS-0008 6.2.2.2).
	var reqMedia codec.MediaInfo
	var ctErr error
	if v, ok, err := uintOption(opts, message.ContentFormat, "Content-Format"); err != nil {
		return d, err
	} else if ok {
		if mi, ok := mediaOf(message.MediaType(v)); ok {
			reqMedia = mi
			d.resp = codec.MediaInfo{Format: mi.Format, OneM2M: mi.OneM2M}
			if mi.OneM2M {
				d.resp.Kind = "res"
			}
		} else {
			ctErr = primitive.Errorf(primitive.RSCUnsupportedMediaType, "unsupported Content-Format %d: use 50 (JSON), 60 (CBOR), 10001 or 10010 (oneM2M resource JSON/CBOR)", v)
		}
	}
	if v, ok, err := uintOption(opts, message.Accept, "Accept"); err != nil {
		return d, err
	} else if ok {
		mi, ok := mediaOf(message.MediaType(v))
		if !ok || mi.Kind == "preq" || mi.Kind == "prsp" {
			return d, primitive.Errorf(primitive.RSCNotAcceptable, "Accept %d cannot be produced: use 50 (JSON), 60 (CBOR), 10001 or 10010", v)
		}
		d.resp = mi
	}
	if ctErr != nil && len(m.body) > 0 {
		return d, ctErr
	}

	// The operation: the method, or the op query item of a non-blocking
	// request, which is always a POST (TS-0008 6.2.1).
	ty, hasTy, err := uintOption(opts, optTY, "oneM2M-TY")
	if err != nil {
		return d, err
	}
	// Uri-Query options carry one item each, unencoded (RFC 7252 6.5).
	q := url.Values{}
	for _, o := range opts {
		if o.ID != message.URIQuery || len(o.Value) == 0 {
			continue
		}
		k, v, _ := strings.Cut(string(o.Value), "=")
		q[k] = append(q[k], v)
	}
	var op primitive.Operation
	if vals, ok := q["op"]; ok {
		delete(q, "op")
		n, err := strconv.Atoi(vals[0])
		if len(vals) != 1 || err != nil || n < 1 || n > 5 {
			return d, primitive.Errorf(primitive.RSCBadRequest, "query item op=%s is not one operation (1-5)", strings.Join(vals, ","))
		}
		if m.code != codes.POST {
			return d, primitive.Errorf(primitive.RSCBadRequest, "the op query item is only allowed with POST (TS-0008 6.2.1)")
		}
		op = primitive.Operation(n)
	}
	switch m.code {
	case codes.POST:
		if op == 0 {
			op = primitive.OpNotify
			if hasTy {
				op = primitive.OpCreate
			}
		}
	case codes.GET:
		op = primitive.OpRetrieve
	case codes.PUT:
		op = primitive.OpUpdate
	case codes.DELETE:
		op = primitive.OpDelete
	default:
		return d, primitive.Errorf(primitive.RSCOperationNotAllowed, "CoAP method %v is not part of the oneM2M binding: use POST, GET, PUT or DELETE", m.code)
	}
	req.Op = op
	if hasTy {
		if op != primitive.OpCreate {
			return d, primitive.Errorf(primitive.RSCBadRequest, "option oneM2M-TY is only allowed with a CREATE")
		}
		if ty == 0 {
			return d, primitive.Errorf(primitive.RSCBadRequest, "option oneM2M-TY is 0, not a resource type")
		}
		req.Ty = int(ty)
	} else if op == primitive.OpCreate {
		return d, primitive.Errorf(primitive.RSCBadRequest, "a CREATE needs the resource type in option oneM2M-TY (267)")
	}

	if req.To, err = toFromPath(opts); err != nil {
		return d, err
	}
	if req.From, req.FromPresent, err = stringOption(opts, optFR, "oneM2M-FR"); err != nil {
		return d, err
	}
	if err := optional(opts, req, now); err != nil {
		return d, err
	}
	if err := primitive.ApplyQuery(req, q, now); err != nil {
		return d, err
	}
	if len(req.ATRL) > 0 && req.Op != primitive.OpRetrieve {
		return d, primitive.Errorf(primitive.RSCBadRequest, "atrl (partial retrieve) is only allowed with GET (RETRIEVE)")
	}
	if v, ok, err := stringOption(opts, optRTURI, "oneM2M-RTURI"); err != nil {
		return d, err
	} else if ok {
		if req.RT == nil {
			req.RT = &primitive.ResponseType{}
		}
		req.RT.NU = []string{}
		if v != "" {
			for _, u := range strings.Split(v, "&") {
				req.RT.NU = append(req.RT.NU, strings.TrimSpace(u))
			}
		}
		if err := req.RT.CheckNU("option oneM2M-RTURI"); err != nil {
			return d, err
		}
	}

	if len(m.body) > 0 {
		if reqMedia.Format == codec.FormatNone {
			return d, primitive.Errorf(primitive.RSCUnsupportedMediaType, "a payload needs a Content-Format: 50 (JSON) or 60 (CBOR)")
		}
		if reqMedia.Kind == "preq" || reqMedia.Kind == "prsp" {
			return d, primitive.Errorf(primitive.RSCUnsupportedMediaType, "Content-Format %d carries a whole primitive; the CoAP binding carries only its content", contentFormatNumber(opts))
		}
		if req.Op == primitive.OpDelete {
			return d, req.SetContent(nil)
		}
		pc, err := codec.Decode(reqMedia.Format, m.body)
		if err != nil {
			return d, primitive.Errorf(primitive.RSCBadRequest, "%v", err)
		}
		if err := req.SetContent(pc); err != nil {
			return d, err
		}
	}
	return d, nil
}

func contentFormatNumber(opts message.Options) uint32 {
	v, _ := opts.GetUint32(message.ContentFormat)
	return v
}

// optional maps the optional oneM2M options of a request (TS-0008
// 6.2.2.4). Response-only options (RSC, CTO, CTS, ATI, ASRI) are ignored.
func optional(opts message.Options, req *primitive.Request, now time.Time) error {
	for _, o := range []struct {
		id   message.OptionID
		name string
		dst  *time.Time
	}{{optRQET, "oneM2M-RQET", &req.RQET}, {optRSET, "oneM2M-RSET", &req.RSET}, {optOET, "oneM2M-OET", &req.OET}} {
		v, ok, err := stringOption(opts, o.id, o.name)
		if err != nil {
			return err
		}
		if ok {
			t, ok := primitive.ParseAbsRelTime(v, now)
			if !ok {
				return primitive.Errorf(primitive.RSCBadRequest, "option %s: %q is neither a timestamp (20250102T030405) nor a number of milliseconds", o.name, v)
			}
			*o.dst = t
		}
	}
	v, ok, err := stringOption(opts, optOT, "oneM2M-OT")
	if err != nil {
		return err
	}
	if ok {
		if _, ok := primitive.ParseTime(v); !ok {
			return primitive.Errorf(primitive.RSCBadRequest, "option oneM2M-OT: %q is not a timestamp (20250102T030405)", v)
		}
		req.OT = v
	}
	if req.GID, _, err = stringOption(opts, optGID, "oneM2M-GID"); err != nil {
		return err
	}
	if req.VSI, _, err = stringOption(opts, optVSI, "oneM2M-VSI"); err != nil {
		return err
	}
	if n, ok, err := uintOption(opts, optEC, "oneM2M-EC"); err != nil {
		return err
	} else if ok {
		// m2m:stdEventCats: 2 immediate, 3 bestEffort, 4 latest; 100-999
		// are the operator's.
		if !(n >= 2 && n <= 4 || n >= 100 && n <= 999) {
			return primitive.Errorf(primitive.RSCBadRequest, "option oneM2M-EC: %d is not an event category (2, 3, 4 or 100-999)", n)
		}
		req.EC = int(n)
	}
	if _, ok, _ := option(opts, optAUS, "oneM2M-AUS"); ok {
		return primitive.Errorf(primitive.RSCNotImplemented, "authorization signatures (option oneM2M-AUS) are not supported")
	}
	if _, ok, _ := option(opts, optGTM, "oneM2M-GTM"); ok {
		return primitive.Errorf(primitive.RSCNotImplemented, "group request target members (option oneM2M-GTM) are not supported")
	}
	return nil
}

// toFromPath reverses TS-0008 6.2.2.3: a first Uri-Path "~" makes the rest
// SP-relative ("/x"), a first "_" absolute ("//x"), anything else is
// CSE-relative. Uri-Path options carry one segment each, unencoded: one
// holding '/' would address another resource than the one spelled, and '#'
// belongs in atrl, so both are a 4000.
func toFromPath(opts message.Options) (string, error) {
	var segs []string
	for _, o := range opts {
		if o.ID != message.URIPath {
			continue
		}
		s := string(o.Value)
		if strings.ContainsAny(s, "/#") {
			return "", primitive.Errorf(primitive.RSCBadRequest, "the Uri-Path segment %q holds a '/' or '#'", s)
		}
		segs = append(segs, s)
	}
	// A trailing empty segment ("coap://h/cse-in/") names the same resource.
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		if s == "" {
			return "", primitive.Errorf(primitive.RSCBadRequest, "the Uri-Path has an empty segment")
		}
	}
	if len(segs) == 0 || (len(segs) == 1 && (segs[0] == "~" || segs[0] == "_")) {
		return "", primitive.Errorf(primitive.RSCBadRequest, "the Uri-Path names no resource")
	}
	p := strings.Join(segs, "/")
	switch segs[0] {
	case "~":
		return p[1:], nil
	case "_":
		return "/" + p[1:], nil
	}
	return p, nil
}

// pathOf maps a To to Uri-Path segments (TS-0008 6.2.2.3): SP-relative "/x"
// → "~", x...; absolute "//x" → "_", x...; CSE-relative "x" → x...
func pathOf(to string) []string {
	switch {
	case strings.HasPrefix(to, "//"):
		return append([]string{"_"}, strings.Split(to[2:], "/")...)
	case strings.HasPrefix(to, "/"):
		return append([]string{"~"}, strings.Split(to[1:], "/")...)
	}
	return strings.Split(to, "/")
}

// codeOf maps a response status code to the CoAP response code of TS-0008
// Table 6.2.4-1; 2000 answers a NOTIFY with 2.04 Changed.
func codeOf(rsc primitive.RSC, op primitive.Operation) codes.Code {
	if rsc == primitive.RSCOK && op == primitive.OpNotify {
		return codes.Changed
	}
	if rsc == primitive.RSCAcceptedNonBlockingAsynch {
		// 2.04 is the code of an acknowledgement without a <request>;
		// onecse always creates one: 2.01 (TS-0008 6.3.2).
		return codes.Created
	}
	return parseCode(rsc.CoAPCode())
}

// parseCode reads "c.dd" into a CoAP code.
func parseCode(s string) codes.Code {
	c, dd, ok := strings.Cut(s, ".")
	cl, err1 := strconv.Atoi(c)
	det, err2 := strconv.Atoi(dd)
	if !ok || err1 != nil || err2 != nil || cl > 7 || det > 31 {
		return codes.InternalServerError
	}
	return codes.Code(cl<<5 | det)
}

// rscOfCode reads the answer of a CoAP server that sends no oneM2M-RSC (a
// plain CoAP notification receiver): any 2.xx is OK, else by class.
func rscOfCode(c codes.Code) primitive.RSC {
	switch {
	case c>>5 == 2:
		return primitive.RSCOK
	case c == codes.NotFound:
		return primitive.RSCNotFound
	case c == codes.Forbidden:
		return primitive.RSCOriginatorHasNoPrivilege
	case c == codes.NotImplemented:
		return primitive.RSCNotImplemented
	case c>>5 == 4:
		return primitive.RSCBadRequest
	}
	return primitive.RSCInternalServerError
}

func codeString(c codes.Code) string { return fmt.Sprintf("%d.%02d", c>>5, c&31) }
