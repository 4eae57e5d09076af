package coap_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCSERegistersOverCoAP: an MN whose registrar-url is coap:// registers
// with the IN over CoAP, and a request to the IN sent to the MN is forwarded
// to the IN over CoAP.
func TestCSERegistersOverCoAP(t *testing.T) {
	in := testcse.StartCoAP(t, func(c *config.Config) { c.LivenessInterval = 100 * time.Millisecond })
	mn := testcse.StartCoAP(t, func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = "MN", "/id-mn", "cse-mn"
		c.RegistrarURL, c.RegistrarID, c.RegistrarName = "coap://"+in.Server.CoAPAddr(), "/id-in", "cse-in"
		c.LivenessInterval = 100 * time.Millisecond
	})
	waitFor(t, "the IN has the MN's <remoteCSE>", func() bool {
		return in.Do(testcse.Req{Method: "GET", Path: "/cse-in/id-mn", From: "CAdmin"}).RSC == 2000
	})
	csr := in.Do(testcse.Req{Method: "GET", Path: "/cse-in/id-mn", From: "CAdmin"}).Res("m2m:csr")
	if csr["csi"] != "/id-mn" {
		t.Fatalf("remoteCSE %v", csr)
	}
	waitFor(t, "the MN has the IN's <remoteCSE>", func() bool {
		return mn.Do(testcse.Req{Method: "GET", Path: "/cse-mn/id-in", From: "CAdmin"}).RSC == 2000
	})
	// An AE of the MN asks the IN through the MN: the request is forwarded
	// over CoAP, and the IN answers for the AE's SP-relative ID (no privilege
	// on the CSEBase: 4103, which only the IN can say).
	aei := mn.RegisterAE("meter")
	r := mn.Do(testcse.Req{Method: "GET", Path: "/~/id-in/cse-in", From: aei})
	if r.RSC != 4103 || !strings.Contains(string(r.Body), "/id-mn/"+aei) {
		t.Fatalf("forwarded RETRIEVE: %d %s", r.RSC, r.Body)
	}
}

// TestCSERegistersOverCoAPS: the same over DTLS-PSK, the MN without a CSE-ID
// of its own getting the one bound to its credential.
func TestCSERegistersOverCoAPS(t *testing.T) {
	in := pskCSE(t)
	keyFile := secret(t, "mn.key", hex.EncodeToString(keyMN)+"\n")
	mn := testcse.StartCoAP(t, func(c *config.Config) {
		c.CSEType, c.CSEID, c.CSEName = "MN", "", "cse-mn"
		c.RegistrarURL, c.RegistrarID, c.RegistrarName = "coaps://"+in.Server.CoAPSPSKAddr(), "/id-in", "cse-in"
		c.RegistrarPSKIdentity, c.RegistrarPSKKeyFile = idMN, keyFile
		c.LivenessInterval = 100 * time.Millisecond
	})
	if got := mn.Server.Core().Config().CSEID; got != "/id-mn-01" {
		t.Fatalf("MN CSE-ID %q, want /id-mn-01", got)
	}
	waitFor(t, "the IN has the MN's <remoteCSE>", func() bool {
		return in.Do(testcse.Req{Method: "GET", Path: "/cse-in/id-mn-01", From: "CAdmin"}).RSC == 2000
	})
}
