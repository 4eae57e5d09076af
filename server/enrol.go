package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/cse"
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
