package http

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/primitive"
)

// decoded is what decode makes of an HTTP request.
type decoded struct {
	req *primitive.Request
	// resp is the serialisation of the answer; it is set even when decoding
	// fails, so that the error itself is answered in the client's format.
	resp codec.MediaInfo
	// allow is set for a method outside the binding (an Allow header is due).
	allow bool
	// tooLarge is set when the body was not read to its end (the connection
	// is closed after the answer).
	tooLarge bool
}

// canonical holds the canonical forms of the header names the binding reads
// ("X-M2M-RI" → "X-M2m-Ri"): http.CanonicalHeaderKey makes a new string for
// each call.
var canonical = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{hOrigin, hRI, hRVI, hRSC, hOT, hRET, hRST, hOET, hRTU, hEC, hGID, hVSI, hCTS, hCTO, hAS, "Authorization"} {
		m[n] = http.CanonicalHeaderKey(n)
	}
	return m
}()

// header returns the single value of a request header. Go's server stores
// header names canonicalised ("X-M2m-Origin"); requests built in-process may
// use the spelling of the specification. A header repeated with different
// values is ambiguous: a 4000.
func header(r *http.Request, name string) (string, bool, error) {
	key, ok := canonical[name]
	if !ok {
		key = http.CanonicalHeaderKey(name)
	}
	vals := r.Header[key]
	if len(vals) == 0 {
		vals = r.Header[name]
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false, primitive.Errorf(primitive.RSCBadRequest, "header %s is given more than once with different values", name)
		}
	}
	return strings.TrimSpace(vals[0]), true, nil
}

// decode builds the request primitive from r (TS-0009 clause 6, read in the
// receiver's direction). Every failure is a *primitive.Error.
func (b *Binding) decode(r *http.Request) (decoded, error) {
	d := decoded{req: primitive.NewRequest(), resp: codec.MediaInfo{Format: codec.JSON}}
	req := d.req
	req.Peer.Binding = "http"
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		req.Peer.Addr = ap.Addr().Unmap()
	}
	if b.opt.Authenticate != nil {
		req.Peer.CredentialID, req.Peer.Authenticated = b.opt.Authenticate(r)
	}

	// The identity of the request first, so that even an error answer echoes
	// X-M2M-RI and X-M2M-RVI.
	var err error
	if req.RQI, _, err = header(r, hRI); err != nil {
		return d, err
	}
	if req.RVI, _, err = header(r, hRVI); err != nil {
		return d, err
	}

	// Serialisations: the request body's from Content-Type, the answer's from
	// Accept, else the request's, else JSON (TS-0009 6.4.2, 6.4.3).
	var reqMedia codec.MediaInfo
	ct := strings.Join(r.Header.Values("Content-Type"), ",")
	ctErr := error(nil)
	if ct != "" {
		if mi, err := codec.ParseMediaType(ct); err != nil {
			ctErr = primitive.Errorf(primitive.RSCUnsupportedMediaType, "unsupported Content-Type %q: use application/json or application/cbor (or their application/vnd.onem2m-res+ forms)", ct)
		} else {
			reqMedia = mi
			d.resp = codec.MediaInfo{Format: mi.Format, OneM2M: mi.OneM2M}
			if mi.OneM2M {
				d.resp.Kind = "res"
			}
		}
	}
	accept := strings.Join(r.Header.Values("Accept"), ",")
	respMedia, acceptOK := codec.Negotiate(accept, d.resp)
	if acceptOK {
		d.resp = respMedia
	}

	// The body is read before anything can fail on the request's meaning, so
	// that the size limit is enforced whatever else is wrong.
	data, tooLarge, err := b.readBody(r)
	if err != nil {
		d.tooLarge = tooLarge
		return d, err
	}
	// A Content-Type matters when there is a body, and on every POST, where
	// its ty parameter tells CREATE from NOTIFY.
	if ctErr != nil && (len(data) > 0 || r.Method == http.MethodPost) {
		return d, ctErr
	}
	if !acceptOK {
		return d, primitive.Errorf(primitive.RSCNotAcceptable, "none of the Accept types %q can be produced: use application/json or application/cbor (or their application/vnd.onem2m-res+ forms)", accept)
	}
	if reqMedia.Ty < 0 {
		return d, primitive.Errorf(primitive.RSCBadRequest, "the ty parameter of Content-Type %q is not a resource type", ct)
	}

	switch r.Method {
	case http.MethodPost:
		if reqMedia.Ty > 0 {
			req.Op, req.Ty = primitive.OpCreate, reqMedia.Ty
		} else {
			req.Op = primitive.OpNotify
		}
	case http.MethodGet:
		req.Op = primitive.OpRetrieve
	case http.MethodPut:
		req.Op = primitive.OpUpdate
	case http.MethodDelete:
		req.Op = primitive.OpDelete
	default:
		d.allow = true
		return d, primitive.Errorf(primitive.RSCOperationNotAllowed, "HTTP method %q is not part of the oneM2M binding: use POST, GET, PUT or DELETE", r.Method)
	}
	if reqMedia.Ty > 0 && req.Op != primitive.OpCreate {
		return d, primitive.Errorf(primitive.RSCBadRequest, "the ty parameter of Content-Type is only allowed with POST (CREATE)")
	}

	if req.To, err = toFromPath(r.URL); err != nil {
		return d, err
	}
	if req.From, req.FromPresent, err = header(r, hOrigin); err != nil {
		return d, err
	}
	if err := b.optionalHeaders(r, req); err != nil {
		return d, err
	}
	var q url.Values // none (nil) for a request without a query
	if r.URL.RawQuery != "" {
		if q, err = primitive.ParseQuery(r.URL.RawQuery); err != nil {
			return d, err
		}
	}
	if err := primitive.ApplyQuery(req, q, b.opt.Now()); err != nil {
		return d, err
	}
	if len(req.ATRL) > 0 && req.Op != primitive.OpRetrieve {
		return d, primitive.Errorf(primitive.RSCBadRequest, "atrl (partial retrieve) is only allowed with GET (RETRIEVE)")
	}
	if err := rtu(r, req); err != nil {
		return d, err
	}

	if len(data) > 0 {
		if reqMedia.Format == codec.FormatNone {
			return d, primitive.Errorf(primitive.RSCUnsupportedMediaType, "a request body needs a Content-Type: application/json or application/cbor")
		}
		if reqMedia.Kind == "preq" || reqMedia.Kind == "prsp" {
			return d, primitive.Errorf(primitive.RSCUnsupportedMediaType, "Content-Type %q carries a whole primitive; the HTTP binding carries only its content", ct)
		}
		if req.Op == primitive.OpDelete {
			return d, req.SetContent(nil) // whatever the body holds, a DELETE has none
		}
		m, err := codec.Decode(reqMedia.Format, data)
		if err != nil {
			return d, primitive.Errorf(primitive.RSCBadRequest, "%v", err)
		}
		if err := req.SetContent(m); err != nil {
			return d, err
		}
	}
	return d, nil
}

// readBody reads the body up to the configured limit. An announced or actual
// length over the limit is a 4000 (a decision of onecse: oneM2M has no "too
// large" code, and 4000 says the request as sent cannot be served).
func (b *Binding) readBody(r *http.Request) ([]byte, bool, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	tooLarge := func() error {
		return primitive.Errorf(primitive.RSCBadRequest, "the request body is larger than %d bytes", b.opt.MaxBody)
	}
	if r.ContentLength > b.opt.MaxBody {
		return nil, true, tooLarge()
	}
	data, err := readLimited(r.Body, r.ContentLength, b.opt.MaxBody+1)
	if err != nil {
		return nil, true, primitive.Errorf(primitive.RSCBadRequest, "reading the request body: %v", err)
	}
	if int64(len(data)) > b.opt.MaxBody {
		return nil, true, tooLarge()
	}
	return data, false, nil
}

// readLimited is io.ReadAll(io.LimitReader(rd, limit)) in one allocation when
// size, the announced length (-1: unknown), is right: the buffer is made
// size+1 long, so that the end of the body is seen without growing it.
func readLimited(rd io.Reader, size, limit int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size < limit {
		n = size + 1
	}
	buf := make([]byte, 0, n)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		end := cap(buf)
		if int64(end) > limit {
			end = int(limit)
		}
		m, err := rd.Read(buf[len(buf):end])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// optionalHeaders maps the optional X-M2M headers of a request (TS-0009 6.4).
// Response-only headers (X-M2M-RSC, -CTS, -CTO, -ATI, -ASRI) and headers that
// are not oneM2M's are ignored, as TS-0009 6.4.0 says of unrecognised ones.
func (b *Binding) optionalHeaders(r *http.Request, req *primitive.Request) error {
	now := b.opt.Now()
	for _, h := range []struct {
		name string
		dst  *time.Time
	}{{hRET, &req.RQET}, {hRST, &req.RSET}, {hOET, &req.OET}} {
		v, ok, err := header(r, h.name)
		if err != nil {
			return err
		}
		if ok {
			t, ok := primitive.ParseAbsRelTime(v, now)
			if !ok {
				return primitive.Errorf(primitive.RSCBadRequest, "header %s: %q is neither a timestamp (20250102T030405) nor a number of milliseconds", h.name, v)
			}
			*h.dst = t
		}
	}
	v, ok, err := header(r, hOT)
	if err != nil {
		return err
	}
	if ok {
		if _, ok := primitive.ParseTime(v); !ok {
			return primitive.Errorf(primitive.RSCBadRequest, "header %s: %q is not a timestamp (20250102T030405)", hOT, v)
		}
		req.OT = v
	}
	if req.GID, _, err = header(r, hGID); err != nil {
		return err
	}
	if req.VSI, _, err = header(r, hVSI); err != nil {
		return err
	}
	if v, ok, err = header(r, hEC); err != nil {
		return err
	} else if ok {
		// m2m:stdEventCats: 2 immediate, 3 bestEffort, 4 latest; 100-999 are
		// for the operator to define (TS-0004 6.3.4.2.x).
		n, err := strconv.Atoi(v)
		if err != nil || !(n >= 2 && n <= 4 || n >= 100 && n <= 999) {
			return primitive.Errorf(primitive.RSCBadRequest, "header %s: %q is not an event category (2, 3, 4 or 100-999)", hEC, v)
		}
		req.EC = n
	}
	if _, ok, _ := header(r, hAS); ok {
		return primitive.Errorf(primitive.RSCNotImplemented, "authorization signatures (%s) are not supported", hAS)
	}
	if v, ok, _ := header(r, "Authorization"); ok {
		// Basic and Bearer credentials are for the HTTP hop (TS-0009 7.1) and
		// onecse asks for none; anything else is the Tokens parameter
		// (JWS/JWE joined by '+', TS-0009 6.4.19), which onecse cannot verify.
		scheme, _, _ := strings.Cut(v, " ")
		if !strings.EqualFold(scheme, "Basic") && !strings.EqualFold(scheme, "Bearer") {
			return primitive.Errorf(primitive.RSCNotImplemented, "dynamic authorization tokens (Authorization header) are not supported")
		}
	}
	return nil
}

// rtu maps X-M2M-RTU to rt.nu: targets joined with '&' (TS-0009 6.4.11).
func rtu(r *http.Request, req *primitive.Request) error {
	v, ok, err := header(r, hRTU)
	if err != nil || !ok {
		return err
	}
	if req.RT == nil {
		req.RT = &primitive.ResponseType{}
	}
	req.RT.NU = []string{}
	if v != "" {
		for _, u := range strings.Split(v, "&") {
			req.RT.NU = append(req.RT.NU, strings.TrimSpace(u))
		}
	}
	return req.RT.CheckNU("header " + hRTU)
}

// toFromPath reverses TS-0009 6.2.2.1: "/~/x" is the SP-relative "/x", "/_/x"
// the absolute "//x", any other "/x" the CSE-relative "x". Each segment is
// percent-decoded on its own: an encoded '/' would otherwise address another
// resource than the one the client spelled, and '#' belongs in atrl (the
// fragment never reaches the server, TS-0009 6.2.2.2), so both are a 4000.
func toFromPath(u *url.URL) (string, error) {
	raw := u.EscapedPath()
	if !strings.HasPrefix(raw, "/") {
		return "", primitive.Errorf(primitive.RSCBadRequest, "the request target %q is not a path", raw)
	}
	p := raw[1:]
	// Without '%' nothing is encoded: each segment is its own decoding (and
	// holds no '/'), so the path needs no splitting. '#' is tested as the
	// loop below would.
	if strings.Contains(p, "%") || strings.Contains(p, "#") {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			d, err := url.PathUnescape(s)
			if err != nil {
				return "", primitive.Errorf(primitive.RSCBadRequest, "malformed percent-encoding in the path %q", raw)
			}
			if strings.ContainsAny(d, "/#") {
				return "", primitive.Errorf(primitive.RSCBadRequest, "the path segment %q holds an encoded '/' or '#'", s)
			}
			segs[i] = d
		}
		p = strings.Join(segs, "/")
	}
	switch {
	case p == "" || p == "~" || p == "_" || p == "~/" || p == "_/":
		return "", primitive.Errorf(primitive.RSCBadRequest, "the request path %q names no resource", raw)
	case strings.HasPrefix(p, "~/"):
		return p[1:], nil
	case strings.HasPrefix(p, "_/"):
		return "/" + p[1:], nil
	}
	return p, nil
}
