package mef

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

// Enrolee is a node the operator pre-registered with the MEF: its
// bootstrap credential and what it is to receive (TS-0003 8.3.2.1, the
// MEF's configuration per enrolee).
type Enrolee struct {
	KpmID string             // bootstrap identity, the psk_identity of the MEF Handshake
	Kpm   credentials.Secret // bootstrap key
	CSEID string             // the CSE-ID assigned to the node (Enrolee-ID)
	SubID string             // its M2M service subscription (M2M-Sub-ID)
	// NotAfter is the Enrolment Expiry: the enrolee's own end or its
	// subscription's, whichever is first; zero is none.
	NotAfter time.Time
}

// Grant is what a successful enrolment gives the registrar: the PSK the
// node will present, bound to the node's CSE-ID, until NotAfter.
type Grant struct {
	Enrolee  Enrolee
	KeID     string
	Key      credentials.Secret
	NotAfter time.Time
}

// Server is the MEF: an HTTPS endpoint over TLS-PSK with the enrolees'
// bootstrap keys (ServeHTTP with TLSConfig on a tlspsk listener, the
// http.Server's ConnContext set to tlspsk.ConnContext).
type Server struct {
	// FQDN is the MEF-FQDN, the suffix of every KeID.
	FQDN string
	// Registrar is where enrolled nodes register, TargetID its
	// Enrolment-Target-ID (TargetID).
	Registrar Registrar
	TargetID  string
	// Lifetime caps an enrolment without an end of its own.
	Lifetime time.Duration
	// Lookup finds an enrolee by its bootstrap identity.
	Lookup func(kpmID string) (Enrolee, bool)
	// Provision hands the registrar the credential of a new enrolment;
	// an error fails the enrolment (5000).
	Provision func(ctx context.Context, g Grant) error
	Now       func() time.Time
	Log       *slog.Logger
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// TLSConfig is the server side of the MEF Handshake: the bootstrap key of
// a known enrolee (an expired one too, so that it learns why it is
// refused); an unknown identity fails the handshake. The extended master
// secret is required, as the exporter needs it (RFC 7627 section 5.4).
func (s *Server) TLSConfig() *tlspsk.Config {
	return &tlspsk.Config{
		GetKey: func(identity string) ([]byte, error) {
			e, ok := s.Lookup(identity)
			if !ok {
				s.log().Warn("MEF handshake refused: unknown enrolee", "kpm-id", identity)
				return nil, nil
			}
			return e.Kpm, nil
		},
		RequireExtendedMasterSecret: true,
		HandshakeTimeout:            10 * time.Second,
	}
}

// ServeHTTP answers a MEF Client Registration. One registration per TLS
// session: the answer closes the connection, so that a session's Ke
// provisions one credential.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	rqi := r.Header.Get("X-M2M-RI")
	fail := func(rsc primitive.RSC, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		writeJSON(w, rqi, rsc, Failure{Status: false, ErrorString: msg})
	}
	if r.URL.Path != Path {
		fail(primitive.RSCNotFound, "no resource %s here; the MEF is at %s", r.URL.Path, Path)
		return
	}
	if r.Method != http.MethodPost {
		fail(primitive.RSCOperationNotAllowed, "only CREATE (POST) of a %s", nameReg)
		return
	}
	tc, ok := tlspsk.FromContext(r.Context())
	if !ok {
		fail(primitive.RSCSecurityAssociationRequired, "a MEF Client Registration needs the MEF Handshake (TLS-PSK with the bootstrap key)")
		return
	}
	kpmID := tc.ConnectionState().Identity
	e, ok := s.Lookup(kpmID)
	if !ok {
		fail(primitive.RSCOriginatorHasNoPrivilege, "enrolee %s is no longer known", kpmID)
		return
	}
	now := s.now()
	if !e.NotAfter.IsZero() && !now.Before(e.NotAfter) {
		s.log().Warn("MEF enrolment refused: expired", "kpm-id", kpmID, "not-after", e.NotAfter)
		fail(primitive.RSCServiceSubscriptionNotEstablished, "the enrolment of %s ended at %s", kpmID, e.NotAfter.UTC().Format(time.RFC3339))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		fail(primitive.RSCBadRequest, "reading the request: %v", err)
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		fail(primitive.RSCBadRequest, "%v", err)
		return
	}
	notAfter := e.NotAfter
	life := s.Lifetime
	if life <= 0 {
		life = 90 * 24 * time.Hour
	}
	if notAfter.IsZero() || notAfter.After(now.Add(life)) {
		notAfter = now.Add(life)
	}
	if req.ExpirationTime != "" {
		if t, _ := ParseTime(req.ExpirationTime); t.Before(notAfter) {
			if !t.After(now) {
				fail(primitive.RSCBadRequest, "expirationTime %s is not in the future", req.ExpirationTime)
				return
			}
			notAfter = t // a shorter enrolment than the MEF would give
		}
	}
	notAfter = notAfter.Truncate(time.Second)
	rel, ke, err := EnrolmentKey(tc)
	if err != nil {
		fail(primitive.RSCInternalServerError, "exporting the enrolment key: %v", err)
		return
	}
	g := Grant{Enrolee: e, KeID: KeID(rel, s.FQDN), Key: UsageKey(ke, SUIDSAEF, s.TargetID), NotAfter: notAfter}
	if err := s.Provision(r.Context(), g); err != nil {
		s.log().Error("MEF enrolment failed: the registrar's credential could not be provisioned", "kpm-id", kpmID, "err", err)
		fail(primitive.RSCInternalServerError, "the credential could not be provisioned at the registrar")
		return
	}
	s.log().Info("node enrolled", "kpm-id", kpmID, "ke-id", g.KeID, "cse-id", e.CSEID, "subscription", e.SubID, "not-after", notAfter)
	suid, _ := strconv.Atoi(SUIDSAEF)
	writeJSON(w, rqi, primitive.RSCCreated, map[string]Response{nameReg: {
		RegID:          g.KeID,
		ClientID:       "10-" + kpmID,
		AdminFQDN:      req.AdminFQDN,
		ExpirationTime: FormatTime(notAfter),
		Labels:         req.Labels,
		Config: Config{
			CSEID: e.CSEID, SubID: e.SubID, Registrar: s.Registrar,
			KeID: g.KeID, SUID: suid, TargetID: s.TargetID, Lifetime: FormatTime(notAfter),
		},
	}})
}

func writeJSON(w http.ResponseWriter, rqi string, rsc primitive.RSC, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h["X-M2M-RSC"] = []string{strconv.Itoa(int(rsc))}
	if rqi != "" {
		h["X-M2M-RI"] = []string{rqi}
	}
	w.WriteHeader(rsc.HTTPStatus())
	w.Write(b)
}
