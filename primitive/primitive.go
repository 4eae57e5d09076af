// Package primitive holds the oneM2M request and response primitives (TS-0004
// 7.2.1), operations, response status codes, identifiers and timestamps. It does
// no I/O: every binding turns its wire format into a Request, the core answers
// with a Response.
package primitive

import (
	"net/netip"
	"time"
)

// Operation is m2m:operation (TS-0004 6.3.4.2.5).
type Operation int

const (
	OpCreate   Operation = 1
	OpRetrieve Operation = 2
	OpUpdate   Operation = 3
	OpDelete   Operation = 4
	OpNotify   Operation = 5
)

func (o Operation) String() string {
	switch o {
	case OpCreate:
		return "CREATE"
	case OpRetrieve:
		return "RETRIEVE"
	case OpUpdate:
		return "UPDATE"
	case OpDelete:
		return "DELETE"
	case OpNotify:
		return "NOTIFY"
	}
	return "UNKNOWN"
}

// Result content values (m2m:resultContent, TS-0004 6.3.4.2.7).
const (
	RCNNothing                   = 0
	RCNAttributes                = 1
	RCNHierarchicalAddress       = 2
	RCNHierarchicalAddressAttrs  = 3
	RCNAttributesAndChildren     = 4
	RCNAttributesAndChildRefs    = 5
	RCNChildRefs                 = 6
	RCNOriginalResource          = 7
	RCNChildResources            = 8
	RCNModifiedAttributes        = 9
	RCNSemanticContent           = 10
	RCNDiscoveryResultReferences = 11
	RCNAbsent                    = -1
)

// Response type values (m2m:responseType).
const (
	RTNonBlockingSynch  = 1
	RTNonBlockingAsynch = 2
	RTBlocking          = 3
	RTFlexBlocking      = 4
	RTNoResponse        = 5
)

// ResponseType is the rt parameter: {rtv, nu}.
type ResponseType struct {
	RTV int
	NU  []string
}

// Peer describes where a request came from, as the binding saw it. The core uses
// it for access control contexts (acip) and for identity checks of security
// associations.
type Peer struct {
	Binding       string     // "http", "mqtt", ...
	Addr          netip.Addr // zero when unknown
	Authenticated bool       // true when a security association authenticated the peer
	CredentialID  string     // the credential of that association, when any
}

// Request is the request primitive (TS-0004 Table 7.2.1.1-1) after decoding.
type Request struct {
	Op   Operation
	To   string
	From string
	// FromPresent tells an absent From from an empty one (both are treated alike
	// for AE registration, but a binding may need to know).
	FromPresent bool
	RQI         string
	RVI         string
	Ty          int // resource type of a CREATE; 0 when absent
	// Content is the decoded pc: one member, keyed "m2m:<sn>".
	Content map[string]any
	RCN     int // RCNAbsent when not given
	RT      *ResponseType
	RP      string
	RQET    time.Time // zero when absent
	RSET    time.Time
	OET     time.Time
	OT      string
	EC      int
	DA      *bool
	GID     string
	DRT     int // 0 when absent
	FC      *FilterCriteria
	ATRL    []string // attribute list of a partial RETRIEVE
	VSI     string
	RIDs    []string
	// GRTM is Group Request Target Members: the members of the group a
	// request to its fanOutPoint goes to (TS-0004 7.4.14.2.4).
	GRTM []string
	Peer Peer
}

// NewRequest returns a request with the "absent" markers set.
func NewRequest() *Request { return &Request{RCN: RCNAbsent} }

// Response is the response primitive (TS-0004 Table 7.2.1.2-1).
type Response struct {
	RSC  RSC
	RQI  string
	RVI  string
	PC   map[string]any // nil when there is no content
	To   string
	From string
	OT   string
	RSET time.Time // zero when absent
	EC   int       // 0 when absent
	VSI  string
	CNST int
	CNOT int
	// Location is the structured address of a created resource (for HTTP
	// Content-Location and CoAP Location-Path); not a primitive parameter.
	Location string
}

// ErrorResponse builds the response for err, with its debug text as m2m:dbg.
func ErrorResponse(req *Request, err error) *Response {
	e := AsError(err)
	r := &Response{RSC: e.RSC}
	if req != nil {
		r.RQI, r.RVI = req.RQI, req.RVI
	}
	if e.Msg != "" {
		r.PC = map[string]any{"m2m:dbg": e.Msg}
	}
	return r
}

// SetContent sets the content of a request whose operation is known, with the
// rules every binding shares: a DELETE carries none, a RETRIEVE only an
// attribute list {"m2m:atrl": [...]} (partial retrieve, TS-0004 7.3.3.6),
// which goes to ATRL; every other operation takes pc as it is.
func (r *Request) SetContent(pc map[string]any) error {
	switch r.Op {
	case OpDelete:
		return Errorf(RSCBadRequest, "a DELETE has no content")
	case OpRetrieve:
		l, ok := pc["m2m:atrl"].([]any)
		if !ok || len(pc) != 1 {
			return Errorf(RSCBadRequest, "the content of a RETRIEVE may only be m2m:atrl")
		}
		for _, e := range l {
			s, ok := e.(string)
			if !ok || s == "" {
				return Errorf(RSCBadRequest, "m2m:atrl must list attribute names")
			}
			r.ATRL = append(r.ATRL, s)
		}
		return nil
	}
	r.Content = pc
	return nil
}

// CheckNU checks the notification targets of a result (rt.nu): they belong to
// a nonBlockingRequestAsynch (rt=2) only, where an empty list means "send no
// result notification" (TS-0004 7.5.1.2.5); what names them is the binding's
// (the X-M2M-RTU header, the nu member of rt).
func (rt *ResponseType) CheckNU(what string) error {
	if rt.RTV != RTNonBlockingAsynch {
		return Errorf(RSCBadRequest, "%s (notification targets of the result) needs rt=2 (nonBlockingRequestAsynch)", what)
	}
	for _, u := range rt.NU {
		if u == "" {
			return Errorf(RSCBadRequest, "%s has an empty target", what)
		}
	}
	return nil
}
