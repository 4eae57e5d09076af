package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onecse/onecse/codec"
	"github.com/onecse/onecse/cse"
	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/store/sqlite"
)

// refusingRegistrar fails the first attempt with a reason, and ends ctx
// (cancel) during the second, as a start-up deadline that falls while a
// request is on its way.
type refusingRegistrar struct {
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (r *refusingRegistrar) Send(ctx context.Context, addr string, f codec.Format, req *primitive.Request) (*primitive.Response, error) {
	if r.calls.Add(1) == 1 {
		return nil, errors.New("registrar certificate names /id-in, not the registrar /id-other")
	}
	r.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCSEIDKeepsTheReason: when the start-up context ends while the
// registrar is asked again, the error says why the registration failed,
// not only that the last request expired.
func TestCSEIDKeepsTheReason(t *testing.T) {
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snd := &refusingRegistrar{cancel: cancel}
	var ccfg cse.Config
	ccfg.CSEName, ccfg.SPID, ccfg.CSEType = "cse-mn", "//onecse.example", cse.TypeMN
	ccfg.Registrar = cse.Registrar{URL: "https://127.0.0.1:9", CSEID: "/id-other", Name: "cse-in"}
	ccfg.Sender = snd
	_, err = cseID(ctx, ccfg, st, slog.New(slog.DiscardHandler))
	if snd.calls.Load() != 2 {
		t.Fatalf("%d attempts, want 2 (%v)", snd.calls.Load(), err)
	}
	if err == nil || !strings.Contains(err.Error(), "not the registrar /id-other") {
		t.Fatalf("error %v: the reason is lost", err)
	}
}
