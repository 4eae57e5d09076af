package acceptance

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	coapb "github.com/onecse/onecse/binding/coap"
	"github.com/onecse/onecse/config"
	"github.com/onecse/onecse/internal/testcse"
	"github.com/onecse/onecse/security/credentials"
)

// The security modes as bindings of the suite: the same cases over a
// security association (TS-0003 8.2), with associations required for AEs
// and CSEs, so that a request outside one is refused (4107).

// aeKPSA is the identity of the AE credential the clients use; its key is
// made per CSE.
const aeKPSA = "acceptance-ae@in.onecse.example"

// pskCSE starts a CSE whose credential file binds the AE-IDs the cases use
// to a fresh key, with associations required; listen adds the secured
// listeners. It returns the CSE and the AE key.
func pskCSE(t *testing.T, start func(testing.TB, func(*config.Config)) *testcse.CSE, mod func(*config.Config), listen func(*config.Config)) (*testcse.CSE, []byte) {
	t.Helper()
	key := credentials.NewKey()
	creds := filepath.Join(t.TempDir(), "credentials.yaml")
	if err := credentials.AddPSK(creds, credentials.Credential{KpsaID: aeKPSA, Key: key, AEIDs: boundStems}); err != nil {
		t.Fatal(err)
	}
	c := start(t, func(cfg *config.Config) {
		cfg.Credentials = creds
		cfg.RequireSAForAEs, cfg.RequireSAForCSEs = config.SAOn, config.SAOn
		listen(cfg)
		if mod != nil {
			mod(cfg)
		}
	})
	requireSA(t, c)
	return c, key
}

// pskRegistrar makes a credential bound to the MN's CSE-ID on c (the file
// reloaded, as on SIGHUP) and gives the MN its key and url(c).
func pskRegistrar(url func(c *testcse.CSE) string) func(*testing.T, *testcse.CSE, *config.Config) {
	return func(t *testing.T, c *testcse.CSE, mn *config.Config) {
		t.Helper()
		key := credentials.NewKey()
		kpsa := mn.CSEID[1:] + "@in.onecse.example"
		if err := credentials.AddPSK(c.Config.Credentials, credentials.Credential{KpsaID: kpsa, Key: key, CSEID: mn.CSEID}); err != nil {
			t.Fatal(err)
		}
		if err := c.Server.ReloadCredentials(); err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "mn.key")
		if err := credentials.WriteKeyFile(keyFile, key); err != nil {
			t.Fatal(err)
		}
		mn.RegistrarURL, mn.RegistrarID, mn.RegistrarName = url(c), c.Config.CSEID, c.Config.CSEName
		mn.RegistrarPSKIdentity, mn.RegistrarPSKKeyFile = kpsa, keyFile
	}
}

// httpsPSKBinding: HTTPS over TLS-PSK (TS-0003 8.2.2.1); notifications to
// an http:// receiver of the AE (see the report on https receivers), the
// MN registers over https:// with a PSK of its own.
func httpsPSKBinding() binding {
	return binding{
		name: "https-psk",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c, key := pskCSE(t, testcse.Start, mod, func(cfg *config.Config) { cfg.HTTPSPSK = "127.0.0.1:0" })
			return c, c.PSK(aeKPSA, key).HTTPClient()
		},
		listen:    httpListen,
		registrar: pskRegistrar(func(c *testcse.CSE) string { return "https://" + c.Server.HTTPSPSKAddr() }),
		secured:   true,
	}
}

// wssPSKBinding: WebSocket over TLS-PSK (TS-0020 7); notifications over
// the client's own connection, the MN registers over wss:// with a PSK.
func wssPSKBinding() binding {
	return binding{
		name: "wss-psk",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c, key := pskCSE(t, testcse.Start, mod, func(cfg *config.Config) { cfg.HTTPSPSK = "127.0.0.1:0" })
			return c, testcse.DialWSPSK(t, c, "oneM2M.json", aeKPSA, key)
		},
		listen:    wsListen,
		registrar: pskRegistrar(func(c *testcse.CSE) string { return "wss://" + c.Server.HTTPSPSKAddr() + "/" }),
		secured:   true,
	}
}

// coapsPSKBinding: CoAP over DTLS-PSK (TS-0008 9); notifications to a
// coap:// receiver of the AE, the MN registers over coaps:// with a PSK.
func coapsPSKBinding() binding {
	return binding{
		name: "coaps-psk",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			c, key := pskCSE(t, testcse.StartCoAP, mod, func(cfg *config.Config) { cfg.CoAPSPSK = "127.0.0.1:0" })
			cl, err := testcse.DialCoAPS(c.Server.CoAPSPSKAddr(), coapb.PSKClientConfig(aeKPSA, key))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			return c, cl
		},
		listen:    coapListen,
		registrar: pskRegistrar(func(c *testcse.CSE) string { return "coaps://" + c.Server.CoAPSPSKAddr() }),
		secured:   true,
	}
}

// requireSA checks that c refuses an AE outside an association (4107): the
// cases of a secured binding cannot pass without one.
func requireSA(t *testing.T, c *testcse.CSE) {
	t.Helper()
	c.HTTPClient().Send(t, testcse.Msg{Op: 1, To: "cse-in", From: "Cae1", Ty: 2,
		PC: map[string]any{"m2m:ae": map[string]any{"rn": "ae1", "api": "Nacceptance", "rr": false, "srv": []any{"3"}}}}).Must(t, 4107)
}

// mqttsBinding: MQTT through a Mosquitto the test starts, whose TLS-PSK
// listener the CSE, the AE and the MN each reach with a PSK of their own
// (TS-0010 6.6: the broker authenticates its clients). The CSE has no
// association with an AE behind a broker, so require-sa-for-aes stays at
// auto (on, it would refuse every AE over MQTT with 4107): the AEs
// register as over plain MQTT. Notifications go to an mqtts:// point of
// access, and the MN registers at the mqtts:// broker.
func mqttsBinding() binding {
	const cseID, aeID, mnID = "acceptance-cse", "acceptance-ae", "acceptance-mn"
	keys := map[string][]byte{}
	var broker string
	return binding{
		name: "mqtts-psk",
		start: func(t *testing.T, mod func(*config.Config)) (*testcse.CSE, testcse.Client) {
			dir := t.TempDir()
			var lines string
			for _, id := range []string{cseID, aeID, mnID} {
				keys[id] = credentials.NewKey()
				lines += id + ":" + hex.EncodeToString(keys[id]) + "\n"
			}
			ports := testcse.Mosquitto(t, 1, func(mdir string, p []int) string {
				f := filepath.Join(mdir, "psk.txt")
				if err := os.WriteFile(f, []byte(lines), 0o600); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("psk_file %s\nlistener %d 127.0.0.1\npsk_hint onecse\nuse_identity_as_username true\ntls_version tlsv1.2\n", f, p[0])
			})
			broker = testcse.MosquittoURL("mqtts", ports[0])
			keyFile := filepath.Join(dir, "cse.key")
			if err := credentials.WriteKeyFile(keyFile, keys[cseID]); err != nil {
				t.Fatal(err)
			}
			c := testcse.Start(t, func(cfg *config.Config) {
				cfg.CSEID = testcse.UniqueCSEID()
				cfg.MQTTBroker = broker
				cfg.MQTTPSKIdentity, cfg.MQTTPSKKeyFile = cseID, keyFile
				if mod != nil {
					mod(cfg)
				}
			})
			return c, testcse.DialMQTTPSK(t, c, broker, "json", aeID, keys[aeID])
		},
		listen: func(t *testing.T, c *testcse.CSE, cl testcse.Client) ([]any, func(*testing.T) map[string]any) {
			m := cl.(*testcse.MQTTClient)
			return []any{broker}, fromChannel(func(f func(map[string]any) (int, map[string]any)) { m.OnRequest = f })
		},
		registrar: func(t *testing.T, c *testcse.CSE, mn *config.Config) {
			keyFile := filepath.Join(t.TempDir(), "mn.key")
			if err := credentials.WriteKeyFile(keyFile, keys[mnID]); err != nil {
				t.Fatal(err)
			}
			mn.RegistrarURL, mn.RegistrarID, mn.RegistrarName = broker, c.Config.CSEID, c.Config.CSEName
			mn.MQTTBroker = broker
			mn.MQTTPSKIdentity, mn.MQTTPSKKeyFile = mnID, keyFile
		},
	}
}
