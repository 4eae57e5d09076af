package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/enrol"
	"github.com/onecse/onecse/security/mef"
	"github.com/onecse/onecse/security/tlspsk"
)

// Remote provisioning (security/mef, TS-0003 8.3): the M2M Enrolment
// Function inside the IN-CSE, and the enrolment of an MN- or ASN-CSE
// before it registers.

// mefService is the MEF of this IN-CSE.
type mefService struct {
	l   net.Listener // TLS-PSK
	srv *http.Server
	fn  *mef.Server
	mu  sync.Mutex // one provisioning at a time (the credential file)
}

// mefFQDN is the MEF-FQDN: configured, or mef.<SP domain>.
func mefFQDN(cfg config.Config) string {
	if cfg.MEFFQDN != "" {
		return cfg.MEFFQDN
	}
	return "mef." + strings.Trim(cfg.SPID, "/")
}

// newMEF builds the MEF from the enrolment file's enrolees; enrolled nodes
// register at registrarURL. It listens on cfg.MEF.
func (s *Server) newMEF(cfg config.Config, f *enrol.File, registrarURL string) (*mefService, error) {
	enrolees, err := mef.Enrolees(f)
	if err != nil {
		return nil, fmt.Errorf("enrolment: %w", err)
	}
	if cfg.MEFRegistrarURL != "" {
		registrarURL = cfg.MEFRegistrarURL
	}
	m := &mefService{}
	fqdn := mefFQDN(cfg)
	m.fn = &mef.Server{
		FQDN:      fqdn,
		Registrar: mef.Registrar{CSEID: cfg.CSEID, CSEBase: cfg.CSEName, PoA: registrarURL},
		TargetID:  mef.TargetID(cfg.CSEID, cfg.SPID),
		Lifetime:  cfg.MEFLifetime,
		Lookup: func(id string) (mef.Enrolee, bool) {
			e, ok := enrolees[id]
			return e, ok
		},
		Provision: func(ctx context.Context, g mef.Grant) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if err := mef.WriteGrant(s.cfg.Credentials, fqdn, g); err != nil {
				return err
			}
			return s.ReloadCredentials()
		},
		Log: s.log,
	}
	l, err := net.Listen("tcp", cfg.MEF)
	if err != nil {
		return nil, fmt.Errorf("mef listener: %w", err)
	}
	m.l = tlspsk.NewListener(l, m.fn.TLSConfig())
	m.srv = &http.Server{Handler: m.fn, ConnContext: tlspsk.ConnContext, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	return m, nil
}

// MEFAddr is the address of the MEF listener ("" when off).
func (s *Server) MEFAddr() string {
	if s.mef == nil {
		return ""
	}
	return s.mef.l.Addr().String()
}

// mefRecord and mefKey are the files in data that hold an enrolment.
const (
	mefRecord = "mef-enrolment.json"
	mefKey    = "mef-registrar.key"
)

// enrolled makes cfg the configuration of an enrolled CSE: the stored
// enrolment while it lasts, else a new one from the MEF; the CSE-ID, the
// registrar and the PSK with it come from the enrolment.
func enrolled(ctx context.Context, cfg config.Config, log *slog.Logger) (config.Config, *mef.Enrolment, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return cfg, nil, err
	}
	path := filepath.Join(cfg.Data, mefRecord)
	rec, err := mef.Load(path)
	if err != nil {
		return cfg, nil, fmt.Errorf("enrolment: %w", err)
	}
	switch {
	case rec == nil:
	case rec.MEF != cfg.MEFURL || rec.KpmID != cfg.MEFBootstrapPSKIdentity:
		log.Info("MEF or bootstrap identity changed: enrolling again", "mef", cfg.MEFURL, "kpm-id", cfg.MEFBootstrapPSKIdentity)
		rec = nil
	case !rec.ValidAt(time.Now()):
		log.Info("enrolment expired: enrolling again", "ke-id", rec.KeID, "not-after", rec.NotAfter)
		rec = nil
	default:
		log.Info("enrolment kept from an earlier start", "cse-id", rec.CSEID, "ke-id", rec.KeID, "not-after", rec.NotAfter)
	}
	if rec == nil {
		kpm, err := credentials.ReadKeyFile(cfg.MEFBootstrapPSKKeyFile)
		if err != nil {
			return cfg, nil, fmt.Errorf("mef-bootstrap-psk-key-file: %w", err)
		}
		if rec, err = mef.Enrol(ctx, mef.Bootstrap{URL: cfg.MEFURL, Identity: cfg.MEFBootstrapPSKIdentity, Key: kpm}); err != nil {
			return cfg, nil, fmt.Errorf("enrolment at the MEF %s: %w", cfg.MEFURL, err)
		}
		if err := rec.Save(path); err != nil {
			return cfg, nil, fmt.Errorf("enrolment: %w", err)
		}
		log.Info("enrolled at the MEF", "mef", cfg.MEFURL, "cse-id", rec.CSEID, "subscription", rec.SubID, "ke-id", rec.KeID,
			"registrar", rec.Registrar.CSEID, "registrar-url", rec.Registrar.PoA, "not-after", rec.NotAfter)
	}
	keyPath := filepath.Join(cfg.Data, mefKey)
	if err := writeSecret(keyPath, []byte(hex.EncodeToString(rec.Key)+"\n")); err != nil {
		return cfg, nil, fmt.Errorf("enrolment: %w", err)
	}
	cfg.CSEID = rec.CSEID
	cfg.RegistrarURL, cfg.RegistrarID, cfg.RegistrarName = rec.Registrar.PoA, rec.Registrar.CSEID, rec.Registrar.CSEBase
	cfg.RegistrarPSKIdentity, cfg.RegistrarPSKKeyFile = rec.KeID, keyPath
	return cfg, rec, nil
}

// writeSecret replaces path with data, mode 0600.
func writeSecret(path string, data []byte) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
