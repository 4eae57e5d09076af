package mef

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/security/credentials"
	"github.com/onecse/onecse/security/tlspsk"
)

// Bootstrap is what a node holds before it is enrolled: the MEF's address
// and its bootstrap credential.
type Bootstrap struct {
	URL      string // https://host:port of the MEF
	Identity string // KpmID
	Key      []byte // Kpm
}

// Enrolment is what a node received: its identity and subscription, its
// registrar, and the PSK it presents there.
type Enrolment struct {
	CSEID     string             `json:"cse-id"`
	SubID     string             `json:"subscription"`
	Registrar Registrar          `json:"registrar"`
	KeID      string             `json:"ke-id"` // PSK identity with the registrar
	Key       credentials.Secret `json:"-"`
	KeyHex    string             `json:"key"`
	NotAfter  time.Time          `json:"not-after"`
	MEF       string             `json:"mef"`       // the MEF URL it came from
	KpmID     string             `json:"bootstrap"` // the bootstrap identity it was made with
}

// Error is a refused enrolment, with the MEF's status code.
type Error struct {
	RSC primitive.RSC
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("MEF refused the enrolment: %d %s", int(e.RSC), e.Msg)
}

// Enrol runs the MEF Handshake and a MEF Client Registration, and derives
// the registrar key from the session.
func Enrol(ctx context.Context, b Bootstrap) (*Enrolment, error) {
	u, err := url.Parse(b.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("MEF URL %q must be https://host:port", b.URL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tc, err := tlspsk.DialContext(ctx, "tcp", addr, &tlspsk.Config{
		Identity: b.Identity, Key: b.Key, RequireExtendedMasterSecret: true, HandshakeTimeout: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("MEF handshake with %s: %w", addr, err)
	}
	defer tc.Close()
	if dl, ok := ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	rel, ke, err := EnrolmentKey(tc)
	if err != nil {
		return nil, err
	}
	var rqi [8]byte
	rand.Read(rqi[:])
	body, _ := json.Marshal(map[string]Request{nameReg: {AdminFQDN: u.Hostname()}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+u.Host+Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header["X-M2M-Origin"] = []string{b.Identity}
	req.Header["X-M2M-RI"] = []string{hex.EncodeToString(rqi[:])}
	req.Header["X-M2M-RVI"] = []string{"3"}
	req.Close = true
	if err := req.Write(tc); err != nil {
		return nil, fmt.Errorf("MEF request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		return nil, fmt.Errorf("MEF response: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("MEF response: %w", err)
	}
	rsc, _ := strconv.Atoi(resp.Header.Get("X-M2M-RSC"))
	if rsc != int(primitive.RSCCreated) {
		var f Failure
		json.Unmarshal(data, &f)
		if rsc == 0 {
			rsc = int(primitive.RSCInternalServerError)
		}
		return nil, &Error{RSC: primitive.RSC(rsc), Msg: f.ErrorString}
	}
	var wrap map[string]Response
	if err := json.Unmarshal(data, &wrap); err != nil {
		return nil, fmt.Errorf("MEF response: not a %s", nameReg)
	}
	r, ok := wrap[nameReg]
	if !ok {
		return nil, fmt.Errorf("MEF response: not a %s", nameReg)
	}
	c := r.Config
	// The KeID's relative part is the exporter's: a MEF that derived
	// another Ke would give a key the registrar does not hold.
	if !strings.HasPrefix(c.KeID, strings.ToUpper(hex.EncodeToString(rel))+"@") {
		return nil, errors.New("MEF response: its KeID is not the one of this session")
	}
	if strconv.Itoa(c.SUID) != SUIDSAEF || c.TargetID == "" || !strings.HasPrefix(c.CSEID, "/") ||
		!strings.HasPrefix(c.Registrar.CSEID, "/") || c.Registrar.CSEBase == "" || !strings.HasPrefix(c.Registrar.PoA, "https://") {
		return nil, errors.New("MEF response: incomplete client configuration (CSE-ID, registrar, SUID 22, targetID)")
	}
	notAfter, err := ParseTime(c.Lifetime)
	if err != nil {
		return nil, fmt.Errorf("MEF response: lifetime %q is not a timestamp", c.Lifetime)
	}
	key := credentials.Secret(UsageKey(ke, SUIDSAEF, c.TargetID))
	return &Enrolment{CSEID: c.CSEID, SubID: c.SubID, Registrar: c.Registrar, KeID: c.KeID, Key: key,
		NotAfter: notAfter, MEF: b.URL, KpmID: b.Identity}, nil
}

// ValidAt reports whether the enrolment may still be used at t.
func (e *Enrolment) ValidAt(t time.Time) bool { return t.Before(e.NotAfter) }

// Save writes the enrolment, key included, to path with mode 0600
// (replacing it atomically).
func (e *Enrolment) Save(path string) error {
	c := *e
	c.KeyHex = hex.EncodeToString(e.Key)
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads an enrolment Save wrote; the file must be its owner's only.
// A file that does not exist gives (nil, nil).
func Load(path string) (*Enrolment, error) {
	data, err := credentials.ReadSecretFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e Enrolment
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%s: not an enrolment record", path)
	}
	if e.Key, err = hex.DecodeString(e.KeyHex); err != nil || len(e.Key) == 0 || e.KeID == "" || e.CSEID == "" {
		return nil, fmt.Errorf("%s: not an enrolment record", path)
	}
	e.KeyHex = ""
	return &e, nil
}
