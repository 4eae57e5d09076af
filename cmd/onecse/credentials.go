package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/onecse/onecse/security/certid"
	"github.com/onecse/onecse/security/credentials"
)

const credentialsUsage = `onecse credentials: manage a credential file (PSKs and the identities bound to them).

Usage:
  onecse credentials add-psk --file FILE --kpsa-id ID (--cse-id /ID | --ae-id STEM [--app-id ID]...) --key-out KEYFILE [--not-after TIME]
      generate a 32-byte PSK, add it to FILE (created with mode 0600) and write it in hex to KEYFILE
      (mode 0600, not overwritten) for the registree (--registrar-psk-key-file); the key is printed nowhere
  onecse credentials list --file FILE
      list the credentials: KpsaID, Credential-ID, bound identity, not-after, state (never the keys)
  onecse credentials revoke --file FILE --kpsa-id ID
      mark a credential revoked
  onecse credentials ca --out NAME [--sp-id //SP] [--days N]
      create a CA (EC P-256): NAME.crt, NAME.key (0600); name-constrained to the SP's AE-IDs (TS-0003 10.1.1.5)
  onecse credentials issue-cse --ca NAME --cse-id /ID --out NAME [--cse-domain D] [--days N]
      issue a CSE-ID certificate (dNSName <ID>.<domain>): NAME.crt, NAME.key (0600)
  onecse credentials issue-ae --ca NAME --ae-id STEM --out NAME [--sp-id //SP] [--days N]
      issue an AE-ID certificate (URI //<SP>/<STEM>): NAME.crt, NAME.key (0600)
  onecse credentials revoke-cert --ca NAME --cert FILE --crl FILE [--days N]
      add the certificate to the CA's CRL in FILE (created if absent; --tls-crl of the registrar)

A running onecse reads the file again on SIGHUP (kill -HUP PID): a revoked or removed credential then ends
the associations made with it.
`

func credentialsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, credentialsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet("onecse credentials "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "credential file")
	var kpsaID, cseID, keyOut, notAfter *string
	var aeIDs, appIDs []string
	switch args[0] {
	case "add-psk":
		kpsaID = fs.String("kpsa-id", "", "PSK identity (KpsaID), e.g. mn1@in.example.com")
		cseID = fs.String("cse-id", "", "SP-relative CSE-ID bound to the key (a CSE's credential)")
		fs.Func("ae-id", "AE-ID-Stem bound to the key (an AE's credential; repeatable)", func(s string) error { aeIDs = append(aeIDs, s); return nil })
		fs.Func("app-id", "App-ID the AE may register with (repeatable; default any)", func(s string) error { appIDs = append(appIDs, s); return nil })
		keyOut = fs.String("key-out", "", "file to write the key to (hex, mode 0600) for the registree")
		notAfter = fs.String("not-after", "", "end of validity, RFC 3339 (e.g. 2027-12-31T00:00:00Z) or a duration from now (e.g. 8760h)")
	case "revoke":
		kpsaID = fs.String("kpsa-id", "", "PSK identity (KpsaID) to revoke")
	case "list":
	case "ca", "issue-cse", "issue-ae", "revoke-cert":
		return certCmd(args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "onecse credentials: unknown command %q\n%s", args[0], credentialsUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "onecse credentials %s: --file is required and no arguments are taken\n", args[0])
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "onecse credentials %s: %v\n", args[0], err)
		return 1
	}
	switch args[0] {
	case "add-psk":
		if *keyOut == "" {
			fmt.Fprintln(stderr, "onecse credentials add-psk: --key-out is required (the key is printed nowhere)")
			return 2
		}
		c := credentials.Credential{KpsaID: *kpsaID, Key: credentials.NewKey(), CSEID: *cseID, AEIDs: aeIDs, AppIDs: appIDs}
		if *notAfter != "" {
			if d, err := time.ParseDuration(*notAfter); err == nil {
				c.NotAfter = time.Now().Add(d).UTC().Truncate(time.Second)
			} else if t, err := time.Parse(time.RFC3339, *notAfter); err == nil {
				c.NotAfter = t
			} else {
				fmt.Fprintf(stderr, "onecse credentials add-psk: --not-after %q is neither RFC 3339 nor a duration\n", *notAfter)
				return 2
			}
		}
		// The key file first: a key in the credential file that nobody
		// holds is harmless, the other way round locks the registree out.
		if err := credentials.WriteKeyFile(*keyOut, c.Key); err != nil {
			return fail(err)
		}
		if err := credentials.AddPSK(*file, c); err != nil {
			os.Remove(*keyOut)
			return fail(err)
		}
		fmt.Fprintf(stdout, "added %s (Credential-ID %s); key written to %s\n", c.KpsaID, c.ID(), *keyOut)
	case "revoke":
		if err := credentials.SetRevoked(*file, *kpsaID); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "revoked %s; send SIGHUP to a running onecse to apply it\n", *kpsaID)
	case "list":
		s, err := credentials.Load(*file)
		if err != nil {
			return fail(err)
		}
		all := s.All()
		slices.SortFunc(all, func(a, b credentials.Credential) int { return strings.Compare(a.KpsaID, b.KpsaID) })
		now := time.Now()
		for _, c := range all {
			bound := "cse-id=" + c.CSEID
			if c.CSEID == "" {
				bound = "ae-ids=" + strings.Join(c.AEIDs, ",")
				if len(c.AppIDs) > 0 {
					bound += " app-ids=" + strings.Join(c.AppIDs, ",")
				}
			}
			na, state := "-", "valid"
			if !c.NotAfter.IsZero() {
				na = c.NotAfter.UTC().Format(time.RFC3339)
			}
			switch {
			case c.Revoked:
				state = "revoked"
			case !c.ValidAt(now):
				state = "expired"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\tnot-after=%s\t%s\n", c.KpsaID, c.ID(), bound, na, state)
		}
	}
	return 0
}

// certCmd issues certificates (security/certid).
func certCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("onecse credentials "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output name: NAME.crt and NAME.key are written (not overwritten)")
	days := fs.Int("days", 365, "validity in days")
	spID := fs.String("sp-id", "//onecse.example", "M2M-SP-ID")
	caName := fs.String("ca", "", "the CA to issue with: NAME.crt and NAME.key")
	cseID := fs.String("cse-id", "", "SP-relative CSE-ID (issue-cse)")
	domain := fs.String("cse-domain", "", "domain of CSE-ID certificates (default: the SP-ID without //)")
	aeID := fs.String("ae-id", "", "AE-ID-Stem (issue-ae)")
	certFile := fs.String("cert", "", "certificate to revoke (revoke-cert)")
	crlFile := fs.String("crl", "", "CRL file to update (revoke-cert)")
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if args[0] == "revoke-cert" {
		if *caName == "" || *certFile == "" || *crlFile == "" || fs.NArg() > 0 {
			fmt.Fprintln(stderr, "onecse credentials revoke-cert: --ca, --cert and --crl are required")
			return 2
		}
		return revokeCert(*caName, *certFile, *crlFile, *days, stdout, stderr)
	}
	if *out == "" || fs.NArg() > 0 || (args[0] != "ca" && *caName == "") {
		fmt.Fprintf(stderr, "onecse credentials %s: --out (and --ca to issue) are required\n", args[0])
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "onecse credentials %s: %v\n", args[0], err)
		return 1
	}
	from := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	to := from.Add(time.Duration(*days) * 24 * time.Hour)
	var is certid.Issued
	var err error
	switch args[0] {
	case "ca":
		_, is, err = certid.NewCA("onecse CA "+*spID, from, to, strings.TrimPrefix(*spID, "//"))
	default:
		ca, lerr := loadCA(*caName)
		if lerr != nil {
			return fail(lerr)
		}
		if args[0] == "issue-cse" {
			d := *domain
			if d == "" {
				d = strings.TrimPrefix(*spID, "//")
			}
			is, err = ca.IssueCSE(*cseID, d, from, to)
		} else {
			is, err = ca.IssueAE(*spID, *aeID, from, to)
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := writeNew(*out+".key", is.KeyPEM, 0o600); err != nil {
		return fail(err)
	}
	if err := writeNew(*out+".crt", is.CertPEM, 0o644); err != nil {
		os.Remove(*out + ".key")
		return fail(err)
	}
	fmt.Fprintf(stdout, "wrote %s.crt and %s.key (valid until %s)\n", *out, *out, to.Format(time.RFC3339))
	return 0
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadCA(name string) (*certid.CA, error) {
	certPEM, err := os.ReadFile(name + ".crt")
	if err != nil {
		return nil, err
	}
	keyPEM, err := credentials.ReadSecretFile(name + ".key")
	if err != nil {
		return nil, err
	}
	return certid.LoadCA(certPEM, keyPEM)
}

func revokeCert(caName, certFile, crlFile string, days int, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "onecse credentials revoke-cert: %v\n", err)
		return 1
	}
	ca, err := loadCA(caName)
	if err != nil {
		return fail(err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		return fail(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return fail(fmt.Errorf("%s: not a PEM certificate", certFile))
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return fail(err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return fail(fmt.Errorf("%s was not issued by this CA", certFile))
	}
	prev, err := os.ReadFile(crlFile)
	if err != nil && !os.IsNotExist(err) {
		return fail(err)
	}
	crl, err := ca.Revoke(prev, cert.SerialNumber, time.Now().UTC(), time.Duration(days)*24*time.Hour)
	if err != nil {
		return fail(err)
	}
	tmp := crlFile + ".new"
	if err := os.WriteFile(tmp, crl, 0o644); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, crlFile); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "revoked %s (serial %x) in %s; send SIGHUP to a running onecse to apply it\n", certFile, cert.SerialNumber, crlFile)
	return 0
}
