// Command sensor-ae is a small oneM2M AE built on the client package: it
// registers with its registrar (over TLS-PSK or with an AE-ID certificate
// when given one), creates a container, subscribes to it, writes a few
// readings, prints the notifications it receives for them, and
// deregisters. See docs/client.md.
//
//	go run ./examples/sensor-ae --url https://127.0.0.1:28481 --cse-id /id-in \
//	    --psk-identity sensor7@in.onecse.example --psk-key-file sensor7.key \
//	    --ae-id Csensor7 --app-id Nsensor --name sensor7
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/onecse/onecse/client"
	"github.com/onecse/onecse/codec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sensor-ae:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sensor-ae", flag.ContinueOnError)
	var cfg client.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the registrar's point of access (https:// with a credential)")
	fs.StringVar(&cfg.CSEID, "cse-id", "/id-in", "the registrar's SP-relative CSE-ID (its certificate must name it)")
	fs.StringVar(&cfg.SPID, "sp-id", "//onecse.example", "the M2M-SP-ID (certificates name AE-IDs under it)")
	fs.StringVar(&cfg.Credential.PSKIdentity, "psk-identity", "", "KpsaID of the AE's pre-shared key")
	fs.StringVar(&cfg.Credential.PSKKeyFile, "psk-key-file", "", "the key in hex, in a file only its owner may read")
	fs.StringVar(&cfg.Credential.CertFile, "cert", "", "the AE-ID certificate (PEM)")
	fs.StringVar(&cfg.Credential.KeyFile, "key", "", "its private key (PEM, mode 0600)")
	fs.StringVar(&cfg.Credential.CAFile, "ca", "", "trust anchors of the registrar's certificate (PEM)")
	fs.StringVar(&cfg.AEID, "ae-id", "", `From of the registration: "", C, S or an AE-ID-Stem (default with a certificate: its AE-ID)`)
	fs.StringVar(&cfg.AppID, "app-id", "Nsensor", "App-ID")
	fs.StringVar(&cfg.Name, "name", "sensor", "resource name of the <AE>")
	fs.StringVar(&cfg.Notify, "notify", "127.0.0.1:0", "listen address of the notification receiver")
	fs.StringVar(&cfg.NotifyURL, "notify-url", "", "URL the registrar reaches the receiver at (default: http://<listen address>/notify)")
	cbor := fs.Bool("cbor", false, "send CBOR instead of JSON")
	n := fs.Int("n", 3, "readings to write")
	keep := fs.Bool("keep", false, "stay registered at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cbor {
		cfg.Format = codec.CBOR
	}
	ae, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer ae.Close()
	if err := ae.Register(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "registered with %s as %s, notifications at %s\n", cfg.CSEID, ae.AEID(), ae.NotifyURL())
	self := ae.Self()
	if _, err := ae.Create(ctx, self, map[string]any{"m2m:cnt": map[string]any{"rn": "readings", "mni": int64(100)}}); err != nil {
		return err
	}
	got := make(chan client.Notification, *n)
	sur, err := ae.Subscribe(ctx, self+"/readings", client.SubscribeOptions{Events: []int{3}}, func(n client.Notification) {
		select {
		case got <- n:
		default:
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "subscribed: %s\n", sur)
	for i := range *n {
		v := fmt.Sprintf("%.1f", 20+0.5*float64(i))
		if _, err := ae.Create(ctx, self+"/readings", map[string]any{"m2m:cin": map[string]any{"con": v}}); err != nil {
			return err
		}
		select {
		case no := <-got:
			cin, _ := no.Resource["m2m:cin"].(map[string]any)
			fmt.Fprintf(out, "notification: %s con=%v\n", cin["ri"], cin["con"])
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no notification for reading %d", i+1)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	latest, err := ae.Retrieve(ctx, self+"/readings/la")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "latest: %v\n", latest["m2m:cin"].(map[string]any)["con"])
	if *keep {
		return nil
	}
	if err := ae.Deregister(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "deregistered")
	return nil
}
