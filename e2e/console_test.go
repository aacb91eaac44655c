package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/smtptest"
)

// chromiumPath finds the headless browser the console test drives: skipped
// when it is missing, failed under SWITCHBOARD_REQUIRE_PEERS=1 (.ci/run
// installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if requirePeers() {
		t.Fatal("chromium not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y chromium)")
	}
	t.Skip("chromium not installed: the console's browser test needs it (apt-get install -y chromium, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	return ""
}

// apiCall sends one admin API request with the provider token.
func apiCall(t *testing.T, srv *server, token, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.HTTP+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return out
}

// TestConsoleInChromium is a company admin's session in a real browser:
// sign in, add a user with a number from the pool, bulk-upload a CSV with
// bad rows and read the report, download the failed rows, then REGISTER a
// SIP phone with the new user's credentials and see it registered on the
// Users page; last, the new user signs in and sets their forwarding on My
// phone. With SWITCHBOARD_SCREENSHOTS=DIR it saves a PNG of each page
// (docs/console/ holds the committed ones).
func TestConsoleInChromium(t *testing.T) {
	exe := chromiumPath(t)
	t.Parallel()
	const token = "e2e-console-provider"
	mailbox := smtptest.Start(t, smtptest.Options{})
	srv := start(t, options{AdminToken: token, Extra: "smtp:\n  server: " + mailbox.Addr() + "\n  from: pbx@switchboard.example\n"})
	apiCall(t, srv, token, "POST", "/tenants/acme.example/admins", `{"email":"ann@acme.example","name":"Ann Admin","password":"console-pw-2026"}`)
	apiCall(t, srv, token, "POST", "/numbers", `{"numbers":["+14155550170","+14155550171"]}`)
	apiCall(t, srv, token, "PATCH", "/numbers/+14155550170", `{"tenant":"acme.example"}`)
	apiCall(t, srv, token, "PATCH", "/numbers/+14155550171", `{"tenant":"acme.example"}`)

	downloads := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 760))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first run starts the browser, which lives as long as that run's
	// context: give it the test's whole life, and time-limit later steps.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	fail := func(what string, err error) {
		t.Helper()
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		defer tcancel()
		text, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 45*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			fail(what, err)
		}
	}
	text := func(what, sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 45*time.Second)
		defer scancel()
		v, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail(what, err)
		}
		return v
	}
	shots := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		run("settle "+name, chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "http://" + srv.HTTP + "/console/"

	// Sign in as the tenant admin.
	run("sign-in page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#login")))
	shot("sign-in")
	run("sign in",
		chromedp.SendKeys(chromedp.CSS(`#login input[name=email]`), "ann@acme.example"),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=password]`), "console-pw-2026"),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#users-table table`)))
	who := text("who", "#who")
	if !strings.Contains(who, "ann@acme.example") || !strings.Contains(who, "acme.example") {
		t.Errorf("header shows %q, want the admin and the tenant", who)
	}
	shot("users")

	// Add a user with a number from the pool.
	run("add user",
		chromedp.Navigate(base+"#/users/new"), chromedp.WaitVisible(chromedp.CSS(`#user-form`)),
		chromedp.SendKeys(chromedp.CSS(`#f-id`), "zed"),
		chromedp.SendKeys(chromedp.CSS(`#user-form input[name=first_name]`), "Zed"),
		chromedp.SendKeys(chromedp.CSS(`#user-form input[name=last_name]`), "Zimmer"),
		chromedp.SetValue(chromedp.CSS(`#user-form select[name=direct_number]`), "+14155550170"))
	shot("add-user")
	run("save user",
		chromedp.Click(chromedp.CSS(`#user-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-result code.once`)))
	password := text("password", `#user-result code.once`)
	if len(password) < 20 {
		t.Fatalf("generated SIP password shown = %q, want a long one", password)
	}
	zed := apiCall(t, srv, token, "GET", "/tenants/acme.example/users/zed", "")
	if zed["direct_number"] != "+14155550170" || zed["name"] != "Zed Zimmer" || zed["first_name"] != "Zed" || zed["last_name"] != "Zimmer" {
		t.Errorf("zed as stored = %v, want direct number +14155550170 and first/last name Zed Zimmer", zed)
	}
	inv := apiCall(t, srv, token, "GET", "/tenants/acme.example/numbers?status=assigned", "")
	if inv["numbers"].(map[string]any)["+14155550170"] != "user:zed" {
		t.Errorf("assigned numbers = %v, want +14155550170 -> user:zed", inv["numbers"])
	}
	run("numbers page", chromedp.Navigate(base+"#/numbers"), chromedp.WaitVisible(chromedp.CSS(`td.st-available`)))
	shot("numbers")

	// Bulk upload with bad rows, read the report, download the failed rows.
	csv := "id,first_name,last_name,email,password,direct_number\n" +
		"yara,Yara,Young,yara@acme.example,yara-pw-123,\n" +
		"BAD ID,Bad,Row,,x-pw-123456,\n" +
		"xena,Xena,Xu,,xena-pw-123,+19995550000\n"
	csvPath := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csvPath, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	run("upload CSV",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		}),
		chromedp.Navigate(base+"#/import"), chromedp.WaitVisible(chromedp.CSS(`#csv-file`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#csv-file`), []string{csvPath}),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-report table`)))
	report := text("report", `#import-report table`)
	for _, want := range []string{"yara", "created", "failed", "ask your provider"} {
		if !strings.Contains(report, want) {
			t.Errorf("import report lacks %q:\n%s", want, report)
		}
	}
	if n := strings.Count(report, "failed"); n != 2 {
		t.Errorf("report has %d failed rows, want 2:\n%s", n, report)
	}
	shot("bulk-upload")
	run("download failed rows", chromedp.Click(chromedp.CSS(`#failed-csv`)))
	var failed []byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(downloads, "failed-rows.csv"))
		if err == nil && len(b) > 0 {
			failed = b
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(downloads)
			t.Fatalf("failed-rows.csv not downloaded (download dir holds %v)", entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantFailed := "id,first_name,last_name,email,password,direct_number\nBAD ID,Bad,Row,,x-pw-123456,\nxena,Xena,Xu,,xena-pw-123,+19995550000\n"
	if string(failed) != wantFailed {
		t.Errorf("failed-rows.csv =\n%s\nwant\n%s", failed, wantFailed)
	}

	// A phone registers with the new user's credentials; the Users page shows it.
	ph := newPhone(t, srv, "UDP")
	res := ph.register(reg{AOR: "zed", Contacts: []string{contact("zed", 5999, "UDP")}, Expires: 600,
		As: user{"zed", "", password}, Username: "zed"})
	wantStatus(t, res, 200)
	run("users page shows the registration",
		chromedp.Navigate(base+"#/users"), chromedp.WaitVisible(chromedp.CSS(`#users-table table`)),
		chromedp.SendKeys(chromedp.CSS(`main input[type=search]`), "zimmer"))
	var row string
	for deadline := time.Now().Add(20 * time.Second); ; {
		// The search applies after a short pause in typing.
		row = text("users row", `#users-table tbody`)
		if !strings.Contains(row, "Young") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(row, "Zimmer") || !strings.Contains(row, "Registered: zed (1)") || strings.Contains(row, "Young") {
		t.Errorf("users row = %q, want Zed Zimmer registered (and the search narrowing to him)", row)
	}
	shot("users-registered")

	// Ann invites Zed from his page; the Users table shows him invited.
	apiCall(t, srv, token, "PATCH", "/tenants/acme.example/users/zed", `{"email":"zed@acme.example","voicemail":{"enabled":true,"pin":"1234"}}`)
	run("save and invite zed",
		chromedp.Navigate(base+"#/users/zed"), chromedp.WaitVisible(chromedp.CSS(`#save-invite`)),
		chromedp.Click(chromedp.CSS(`#save-invite`)), chromedp.WaitVisible(chromedp.CSS(`#status.good`)))
	if st := text("invite status", "#status"); !strings.Contains(st, "Saved user zed") || !strings.Contains(st, "Invitation sent to zed@acme.example") {
		t.Errorf("status after Save & Invite = %q", st)
	}
	first := mailbox.Next(t, 10*time.Second)
	run("resend the invitation",
		chromedp.Navigate(base+"#/users"), chromedp.Navigate(base+"#/users/zed"), chromedp.WaitVisible(chromedp.CSS(`#resend-invite`)),
		chromedp.Click(chromedp.CSS(`#resend-invite`)), chromedp.WaitVisible(chromedp.CSS(`#status.good`)))
	if st := text("resend status", "#status"); !strings.Contains(st, "Invitation sent to zed@acme.example") {
		t.Errorf("status after Resend invite = %q", st)
	}
	mail := mailbox.Next(t, 10*time.Second) // the resent one: the first link no longer works
	if string(mail.Data) == string(first.Data) {
		t.Error("the resent invitation is the first one again")
	}
	msg, err := mail.Parse()
	if err != nil {
		t.Fatal(err)
	}
	mailBody, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	link := regexp.MustCompile(`http://[^/\s]+/console/#/invite/[A-Z0-9]+`).FindString(string(mailBody))
	if link == "" || !strings.Contains(string(mailBody), "Username:      zed") || mail.To[0] != "zed@acme.example" {
		t.Fatalf("invitation email to %v lacks the link or username:\n%s", mail.To, mailBody)
	}
	if z := apiCall(t, srv, token, "GET", "/tenants/acme.example/users/zed", ""); z["last_name"] != "Zimmer" {
		t.Errorf("zed after Save & Invite = %v, want his name kept", z)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`U.q = "zimmer"; U.offset = 0; true`)); err != nil {
		t.Fatal(err) // the search the page keeps across pages
	}
	run("users page shows zed invited",
		chromedp.Navigate(base+"#/users"), chromedp.WaitVisible(chromedp.CSS(`#users-table td.status-invited`)))
	// Only zed was invited, so the one invited cell is his.
	if cell := text("zed's status cell", `#users-table tbody td.status-invited`); cell != "Invited" {
		t.Errorf("status cell = %q, want Invited", cell)
	}
	if row := text("users rows", `#users-table tbody`); !strings.Contains(row, "Zimmer") {
		t.Errorf("users rows = %q, want Zed Zimmer", row)
	}
	shot("users-invited")

	// The admin uploads an MP3 as a menu's greeting and can play it back.
	apiCall(t, srv, token, "POST", "/tenants/acme.example/attendants", `{"id":"night","options":{"1":"user:zed"}}`)
	mp3, err := filepath.Abs("../media/testdata/tone440.mp3")
	if err != nil {
		t.Fatal(err)
	}
	run("upload a greeting",
		chromedp.Navigate(base+"#/attendants"), chromedp.WaitVisible(chromedp.CSS(`#greeting-file-night`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#greeting-file-night`), []string{mp3}),
		chromedp.Click(chromedp.CSS(`#greeting-upload-night`)),
		chromedp.WaitVisible(chromedp.CSS(`#greeting-audio-night`)))
	waitUntil(t, 5*time.Second, "the upload's status line", func() bool {
		return strings.Contains(text("status", `#status`), "Greeting of menu night uploaded")
	})
	if d, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise((ok) => { const a = document.getElementById("greeting-audio-night"); if (a.readyState >= 1) ok(a.duration); a.onloadedmetadata = () => ok(a.duration); a.load(); })`, chromedp.EvalAwaitPromise)); err != nil || d < 0.9 || d > 1.3 {
		t.Errorf("the page plays back %v s of greeting (%v), want the uploaded second", d, err)
	}

	// A real call through the server ends; it is in GET cdrs and in the
	// Calls page's Recent calls table.
	callee := newPeer(t, srv, "7002", "127.0.0.1", "UDP")
	callee.register("7002", bob)
	caller := newPeer(t, srv, "7001", "127.0.0.1", "UDP")
	c := caller.call("7002", callOpts{As: &alice})
	c.waitStatus(200, 5*time.Second)
	c.ack()
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	var cdr map[string]any
	waitUntil(t, 5*time.Second, "the call in GET cdrs", func() bool {
		for _, r := range apiCall(t, srv, token, "GET", "/cdrs?tenant=acme.example", "")["cdrs"].([]any) {
			if m := r.(map[string]any); m["call_id"] == c.callID() {
				cdr = m
				return true
			}
		}
		return false
	})
	if cdr["caller"] != "alice" || cdr["callee"] != "7002" || cdr["result"] != "answered" || cdr["ended_by"] != "bye" || cdr["kind"] != "user" {
		t.Errorf("GET cdrs = %v, want alice → 7002 answered, ended by bye", cdr)
	}
	run("calls page shows the finished call",
		chromedp.Navigate(base+"#/calls"), chromedp.WaitVisible(chromedp.CSS(`main tr.cdr`)))
	if row := text("recent calls row", `main tr.cdr`); !strings.Contains(row, "alice") || !strings.Contains(row, "7002") ||
		!strings.Contains(row, "answered") || !strings.Contains(row, "bye") {
		t.Errorf("Recent calls row = %q, want alice → 7002 answered, ended by bye", row)
	}

	if shots != "" {
		apiCall(t, srv, token, "POST", "/tenants/acme.example/attendants",
			`{"id":"main","greeting":"welcome","options":{"1":"group:sales","2":"user:zed","0":"user:alice"},"dial_by_extension":true,"timeout":"5s","fallback":"user:alice"}`)
		for _, p := range []struct{ hash, wait, name string }{
			{"#/groups", "main table", "groups"},
			{"#/attendants", "main h1", "auto-attendant"},
			{"#/calls", "main table", "calls"},
		} {
			run(p.name, chromedp.Navigate(base+p.hash), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			shot(p.name)
		}
		// The provider's view, signed in with the provider token.
		js := fmt.Sprintf(`fetch("/api/v1/logout",{method:"POST",headers:{"X-CSRF-Token":S.session.csrf}}).then(()=>fetch("/api/v1/login",{method:"POST",body:JSON.stringify({token:%q})})).then(r=>r.status)`, token)
		if code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise)); err != nil || code != 200 {
			t.Fatalf("provider sign-in from the page: %d %v", code, err)
		}
		run("provider page", chromedp.Navigate(base+"#/provider"), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#provider-result`)))
		shot("provider")
	}

	// Zed opens the emailed link, chooses a password and lands in My phone,
	// where he changes only his own phone settings.
	signOut := `fetch("/api/v1/logout",{method:"POST",headers:{"X-CSRF-Token":S.session.csrf}}).then(r=>r.status)`
	if code, err := chromedp.Run(ctx, chromedp.Evaluate[int](signOut, chromedp.EvalAwaitPromise)); err != nil || code != 200 {
		t.Fatalf("sign out from the page: %d %v", code, err)
	}
	run("accept the invitation",
		chromedp.Navigate(link), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#accept")),
		chromedp.SendKeys(chromedp.CSS(`#accept input[name=password]`), "zed-portal-pw"),
		chromedp.SendKeys(chromedp.CSS(`#accept input[name=password_again]`), "zed-portal-pw"))
	shot("accept-invitation")
	run("signed in to My phone",
		chromedp.Click(chromedp.CSS(`#accept button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#me-form`)))
	if st := apiCall(t, srv, token, "GET", "/tenants/acme.example/users/zed", "")["status"]; st != "active" {
		t.Errorf("zed's status after accepting = %v, want active", st)
	}
	if disp, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("nav")).display`)); err != nil || disp != "none" {
		t.Errorf("the admin navigation is shown to a user (display %q, %v)", disp, err)
	}
	run("set my forwarding",
		chromedp.SendKeys(chromedp.CSS(`#me-form input[name=forward_number]`), "+14085551234"),
		chromedp.SetValue(chromedp.CSS(`#me-form select[name=forward_when]`), "always"),
		chromedp.Click(chromedp.CSS(`#me-screen`)),
		chromedp.SendKeys(chromedp.CSS(`#me-form input[name=voicemail_pin]`), "86420"))
	shot("my-phone")
	run("save my phone", chromedp.Click(chromedp.CSS(`#me-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#status.good`)))
	zed = apiCall(t, srv, token, "GET", "/tenants/acme.example/users/zed", "")
	if fw, _ := zed["forward"].(map[string]any); fw == nil || fw["number"] != "+14085551234" || fw["when"] != "always" || fw["screening"] != true {
		t.Errorf("zed's forwarding after My phone = %v, want always to +14085551234 with screening", zed["forward"])
	}
	// The user's session cannot reach the admin routes, even its own user's.
	js := `fetch("/api/v1/tenants/acme.example/users/zed").then(r=>r.status)`
	if code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise)); err != nil || code != 404 {
		t.Errorf("GET the user's own admin route from the user's session = %d %v, want 404", code, err)
	}
}
