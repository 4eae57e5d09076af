package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
)

// loadEnrolment reads the enrolment file (it may hold keys: owner-only)
// and writes its credentials to the credential file.
func loadEnrolment(cfg config.Config, log *slog.Logger) (*enrol.File, error) {
	data, err := credentials.ReadSecretFile(cfg.Enrolment)
	if err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	f, err := enrol.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("enrolment: %s: %w", cfg.Enrolment, err)
	}
	var rep enrol.Report
	if err := enrol.ApplyCredentials(f, cfg.Credentials, &rep); err != nil {
		return nil, fmt.Errorf("enrolment: %s: %w", cfg.Enrolment, err)
	}
	if rep.Changed() {
		log.Info("enrolment: credentials written", "file", cfg.Credentials, "created", rep.Created, "updated", rep.Updated)
	}
	return f, nil
}

// applyEnrolment writes the subscription resources through the core as
// the administrator.
func applyEnrolment(ctx context.Context, cfg config.Config, core *cse.CSE, f *enrol.File, log *slog.Logger) error {
	var rep enrol.Report
	t := enrol.Target{CSE: core, CSEName: core.Config().CSEName, Admin: core.Config().Admin}
	if err := enrol.ApplyResources(ctx, f, t, &rep); err != nil {
		return fmt.Errorf("enrolment: %s: %w", cfg.Enrolment, err)
	}
	log.Info("enrolment applied", "file", cfg.Enrolment, "result", rep.String(), "created", rep.Created, "updated", rep.Updated)
	return nil
}

// withdrawnBy returns the AE credentials valid in old that new revokes or
// no longer holds (an expired one is not withdrawn: its registrations
// follow their own expiration time, registration-security.md 7).
func withdrawnBy(old, new *credentials.Store) []credentials.Credential {
	var out []credentials.Credential
	for _, c := range old.All() {
		if len(c.AEIDs) == 0 {
			continue
		}
		if _, valid := old.Lookup(c.KpsaID); !valid {
			continue
		}
		if _, still := new.Lookup(c.KpsaID); still {
			continue
		}
		gone := true
		for _, n := range new.All() {
			if n.KpsaID == c.KpsaID && !n.Revoked {
				gone = false // expired, not withdrawn
			}
		}
		if gone {
			out = append(out, c)
		}
	}
	return out
}

// endRegistrations deregisters the AEs registered with the AE-IDs of
// withdrawn credentials (application enrolment, TS-0001 11.3: revoking an
// application's credential ends the registrations of its instances). The
// deletion goes through the core as the administrator, so deregistration
// runs as for a DELETE.
func (s *Server) endRegistrations(ctx context.Context, creds []credentials.Credential) {
	cfg := s.core.Config()
	for _, c := range creds {
		for _, aei := range c.AEIDs {
			req := primitive.NewRequest()
			req.Op, req.To, req.From, req.FromPresent, req.RVI = primitive.OpDelete, aei, cfg.Admin, true, "3"
			req.RQI = "revoke-" + aei
			rsp := s.core.Handle(ctx, req)
			switch rsp.RSC {
			case primitive.RSCDeleted:
				s.log.Info("AE deregistered: its credential was revoked", "aei", aei, "kpsa-id", c.KpsaID)
			case primitive.RSCNotFound:
			default:
				s.log.Warn("AE of a revoked credential not deregistered", "aei", aei, "kpsa-id", c.KpsaID, "rsc", int(rsp.RSC))
			}
		}
	}
}
