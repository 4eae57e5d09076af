// Package browser tests the web console end to end in headless Chromium
// (Debian's chromium package, driven over the DevTools protocol by chromedp):
// a CSE runs in-process on 127.0.0.1:0, the browser opens its console and
// works through it as a user would. Screenshots are kept as test artefacts in
// $ONECSE_ARTIFACTS (default: test/browser/artifacts, not committed).
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/onecse/onecse/internal/testcse"
)

// chromium finds the browser: $ONECSE_CHROMIUM, else Debian's.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("ONECSE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install Debian's package (apt-get install chromium) or set ONECSE_CHROMIUM; .ci/run installs it")
	return ""
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("ONECSE_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts a headless Chromium with a fresh profile and returns a tab's
// context; JavaScript exceptions and console errors are collected in errs.
func browser(t *testing.T) (context.Context, func() []string) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	var copts []chromedp.ContextOption
	if os.Getenv("ONECSE_CDP_DEBUG") != "" {
		copts = append(copts, chromedp.WithDebugf(t.Logf))
	}
	ctx, cancelC := chromedp.NewContext(actx, copts...)
	t.Cleanup(func() { cancelC(); cancelA() })
	var mu sync.Mutex
	var errs []string
	// The browser's own log reports every answer >= 400 as "Failed to load
	// resource"; the test provokes some on purpose. Exceptions and
	// console.error calls of the page's code are what count.
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("starting %s: %v", chromium(t), err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError && !strings.Contains(m.Text, "Failed to load resource") {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), errs...) }
}

// step runs actions and fails the test with a screenshot when they fail.
// page is a browser tab under test.
type page struct {
	t        *testing.T
	ctx      context.Context
	jsErrors func() []string
}

func (p *page) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	t, ctx := p.t, p.ctx
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(name, " ", "-") + ".png")
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		html, _ := chromedp.Run(hctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if len(html) > 4000 {
			html = html[:4000]
		}
		t.Fatalf("%s: %v\nJavaScript errors: %s\npage: %s", name, err, strings.Join(p.jsErrors(), "\n"), html)
	}
}

func (p *page) shot(name string) string {
	t := p.t
	t.Helper()
	ctx := p.ctx
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	file := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", file)
	return file
}

// until waits for a JavaScript condition to become true.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(20*time.Second))
}

// text is the JavaScript of an element's text content ("" when absent).
func text(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? "")`, sel)
}

func node(path string) string { return fmt.Sprintf(`.node[data-path=%q]`, path) }

func attrValue(sn string) string { return text(fmt.Sprintf(`#attr-table tr[data-sn=%q] td.val`, sn)) }

// fill replaces an input's value the way typing does (input events fire).
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, value))
}

func TestConsoleEndToEnd(t *testing.T) {
	c := testcse.Start(t, nil)
	ctx, jsErrors := browser(t)
	p := &page{t: t, ctx: ctx, jsErrors: jsErrors}
	const orig = "Cbrowser"

	p.step("open",
		chromedp.Navigate(c.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		until(`document.querySelector('#originator').classList.contains('missing')`),
		until(text("#cse-info")+`.includes("/id-in")`),
	)
	p.step("type the originator",
		chromedp.SendKeys(chromedp.CSS("#originator"), orig+kb.Enter),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in"`),
		until(text("#res-name")+` === "cse-in"`),
		// Not registered yet: the CSE refuses to show it the CSEBase, and the
		// console says so and still offers to register an AE.
		until(text("#res-error")+`.includes("4106 ORIGINATOR_NOT_AUTHENTICATED")`),
		until(text("#tree")+`.includes("4106")`),
		chromedp.WaitVisible(chromedp.CSS(`#create-bar button[data-create="2"]`)),
	)

	// CREATE an AE through the form built from the attribute table.
	p.step("create AE",
		chromedp.Click(chromedp.CSS(`#create-bar button[data-create="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-api`)),
		until(`document.querySelector('#f-srv').value === "3" && document.querySelector('#f-rr').value === "false"`),
		until(text("#form-preview")+`.includes("POST /cse-in") && `+text("#form-preview")+`.includes("application/json;ty=2")`),
		fill("#f-rn", "lamp"),
		fill("#f-api", "Nlamp"),
		fill("#f-lbl", "room:kitchen"),
		until(text("#form-preview")+`.includes('"Nlamp"')`),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in/lamp"`),
		until(attrValue("aei")+` === "Cbrowser" && `+attrValue("api")+` === "Nlamp" && `+attrValue("lbl")+` === "room:kitchen"`),
		// Registered, it sees the CSEBase now.
		chromedp.Click(chromedp.CSS(node("cse-in")+" .label")),
		until(attrValue("ty")+` === "5 (CSEBase)" && `+attrValue("csi")+` === "/id-in"`),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp")+" .label")),
		until(text("#res-name")+` === "lamp"`),
	)
	// A mandatory attribute left empty is caught before sending.
	p.step("form validation",
		chromedp.Click(chromedp.CSS(`#create-bar button[data-create="3"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-mni`)),
		fill("#f-mni", "ten"),
		chromedp.Click(chromedp.CSS("#form-send")),
		until(`document.querySelector('.field[data-sn="mni"]').classList.contains('invalid')`),
		until(text(`.field[data-sn="mni"] .msg`)+`.includes("not an integer")`),
	)
	p.step("create container",
		fill("#f-rn", "temperature"),
		fill("#f-mni", "10"),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in/lamp/temperature"`),
		until(attrValue("mni")+` === "10" && `+attrValue("cni")+` === "0"`),
	)
	p.step("create contentInstance",
		chromedp.Click(chromedp.CSS(`#create-bar button[data-create="4"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-con`)),
		fill("#f-rn", "reading1"),
		fill("#f-con", "21.5"),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in/lamp/temperature/reading1"`),
		until(attrValue("con")+` === "21.5" && `+attrValue("cs")+` === "4"`),
		until(text("#res-badge")+` === "CIN"`),
	)
	// The server really has what the forms created, made by the typed originator.
	r := c.Do(testcse.Req{Method: "GET", Path: "/cse-in/lamp/temperature/reading1", From: orig}).Must(t, 2000)
	if cin := r.Res("m2m:cin"); cin["con"] != "21.5" {
		t.Fatalf("contentInstance on the server: %s", r.Body)
	}

	// Lazy loading: a fresh tree holds only the CSEBase's children until a
	// node is expanded.
	p.step("expand the tree",
		chromedp.Click(chromedp.CSS(node("cse-in")+" .label")),
		until(text("#res-name")+` === "cse-in"`),
		chromedp.Click(chromedp.CSS("#tree-reload")),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/lamp"))),
		until(`!document.querySelector('`+node("cse-in/lamp/temperature")+`')`),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp")+" .twisty")),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/lamp/temperature"))),
		until(`!document.querySelector('`+node("cse-in/lamp/temperature/reading1")+`')`),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature")+" .twisty")),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/lamp/temperature/reading1"))),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature")+" .label")),
		until(text("#res-name")+` === "temperature"`),
		until(attrValue("cni")+` === "1" && `+attrValue("cbs")+` === "4"`),
		until(text(`#attr-table tr[data-sn="mni"] td.ln`)+` === "maxNrOfInstances"`),
		chromedp.Click(chromedp.CSS(`.subtabs button[data-view="json"]`)),
		chromedp.WaitVisible(chromedp.CSS("#res-json")),
		until(text("#res-json")+`.includes('"m2m:cnt"') && `+text("#res-json")+`.includes('"cni": 1')`),
		chromedp.Click(chromedp.CSS(`.subtabs button[data-view="table"]`)),
	)
	// UPDATE through the form: only the changed attribute is sent.
	p.step("update container",
		chromedp.Click(chromedp.CSS("#act-update")),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-mni`)),
		until(`document.querySelector('#f-mni').value === "10"`),
		fill("#f-mni", "5"),
		until(text("#form-preview")+`.includes("PUT /cse-in/lamp/temperature") && `+text("#form-preview")+`.includes('"mni": 5') && !`+text("#form-preview")+`.includes('"rn"')`),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		until(attrValue("mni")+` === "5"`),
	)

	// A raw request with chosen method, path and headers; the whole answer.
	p.step("raw request",
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="request"]`)),
		chromedp.WaitVisible(chromedp.CSS("#raw-path")),
		chromedp.SetValue(chromedp.CSS("#raw-method"), "GET"),
		fill("#raw-path", "/cse-in/lamp/temperature/la?rcn=1"),
		fill("#raw-headers", "X-M2M-Origin: "+orig+"\nX-M2M-RI: raw-1\nX-M2M-RVI: 3\nAccept: application/json"),
		chromedp.Click(chromedp.CSS("#raw-send")),
		until(text("#raw-status")+`.includes("HTTP 200") && `+text("#raw-status")+`.includes("2000 OK")`),
		until(text("#raw-resp-headers")+`.includes("x-m2m-ri") && `+text("#raw-resp-headers")+`.includes("raw-1")`),
		until(text("#raw-resp-body")+`.includes('"con": "21.5"')`),
		// The same with an originator the CSE does not know.
		fill("#raw-headers", "X-M2M-Origin: Cstranger\nX-M2M-RVI: 3"),
		chromedp.Click(chromedp.CSS("#raw-send")),
		until(text("#raw-status")+`.includes("HTTP 403") && `+text("#raw-status")+`.includes("4106 ORIGINATOR_NOT_AUTHENTICATED")`),
	)
	p.shot("console-request.png")

	// A subscription whose nu is the console's sink: the notification of the
	// next contentInstance appears live in the Notifications tab.
	var sinkURL string
	p.step("subscribe",
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="resource"]`)),
		chromedp.Click(chromedp.CSS("#act-subscribe")),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-nu`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			sinkURL, err = chromedp.Value(chromedp.CSS("#f-nu"))(ctx, tg)
			return err
		}),
		fill("#f-rn", "watch"),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in/lamp/temperature/watch"`),
		// The verification request arrived while the tab was not shown.
		until(text("#notif-count")+` !== ""`),
	)
	if !strings.HasPrefix(sinkURL, c.URL+"/console/sink/") {
		t.Fatalf("nu prefilled with %q", sinkURL)
	}
	p.step("notification arrives live",
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature")+" .label")),
		until(text("#res-name")+` === "temperature"`),
		chromedp.Click(chromedp.CSS(`#create-bar button[data-create="4"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-dialog[open] #f-con`)),
		fill("#f-con", `{"celsius": 22.5}`),
		chromedp.Click(chromedp.CSS("#f-con-json")),
		until(text("#form-preview")+`.includes('"celsius": 22.5')`),
		chromedp.Click(chromedp.CSS("#form-send")),
		chromedp.WaitNotPresent(chromedp.CSS(`#form-dialog[open]`)),
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="notifications"]`)),
		until(`document.querySelectorAll("#notif-list > li").length === 2`),
		until(text("#notif-list > li:first-child .ev-head")+`.includes("net 3") && `+text("#notif-list > li:first-child")+`.includes('"celsius": 22.5')`),
		until(text("#notif-list > li:last-child .ev-head")+`.includes("verification request")`),
		until(`document.querySelector("#live-status").classList.contains("on")`),
		until(text("#notif-count")+` === ""`),
	)
	p.shot("console-notifications.png")

	// DELETE with confirmation.
	p.step("delete",
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="resource"]`)),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature/watch")+" .label")),
		until(text("#res-name")+` === "watch"`),
		chromedp.Click(chromedp.CSS("#act-delete")),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-dialog[open]`)),
		chromedp.Click(chromedp.CSS("#confirm-ok")),
		chromedp.WaitNotPresent(chromedp.CSS(node("cse-in/lamp/temperature/watch"))),
		until(`document.querySelector(".node.selected")?.dataset.path === "cse-in/lamp/temperature"`),
	)
	c.Do(testcse.Req{Method: "GET", Path: "/cse-in/lamp/temperature/watch", From: orig}).Must(t, 4004)

	// Every request the page made is in the log; a failed one is marked.
	p.step("log",
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="log"]`)),
		until(`document.querySelectorAll("#log-list > li").length >= 10`),
		until(`[...document.querySelectorAll("#log-list .rsc.fail")].some(e => e.textContent.includes("4106"))`),
		chromedp.Click(chromedp.CSS("#log-list > li:first-child .ev-head")),
		until(text("#log-list > li:first-child .ev-body")+`.includes("X-M2M-Origin")`),
	)

	// Another AE sees what access control grants it: its own AE, not lamp.
	c.Do(testcse.Req{Method: "POST", Path: "/cse-in", From: "Cother", Ty: 2,
		Body: map[string]any{"m2m:ae": map[string]any{"rn": "other", "api": "Nother", "rr": false, "srv": []string{"3"}}}}).Must(t, 2001)
	p.step("another originator",
		chromedp.Click(chromedp.CSS(`.tabs button[data-tab="resource"]`)),
		fill("#originator", "Cother"),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/other"))),
		until(`!document.querySelector('`+node("cse-in/lamp")+`')`),
		until(text("#res-error")+`.includes("4103 ORIGINATOR_HAS_NO_PRIVILEGE")`), // the view kept lamp/temperature
		fill("#originator", orig),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/lamp"))),
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature")+" .label")),
		until(attrValue("cni")+` === "2"`),
	)
	// The picture for docs/console.md: a container with its instances.
	p.step("docs picture",
		chromedp.Click(chromedp.CSS(node("cse-in/lamp/temperature")+" .twisty")),
		chromedp.WaitVisible(chromedp.CSS(node("cse-in/lamp/temperature/reading1"))),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#toasts").replaceChildren()`),
	)
	p.shot("console.png")

	if errs := jsErrors(); len(errs) > 0 {
		t.Errorf("JavaScript errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}
