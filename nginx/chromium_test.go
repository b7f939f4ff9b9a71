//go:build unix

package nginx_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tktgate/tktgate/internal/e2e"
)

// The browser tests drive Debian's chromium, headless, through the
// DevTools protocol (chromedp, a test-only dependency: the service never
// imports it). One chromium serves every test; each test has a browser
// context of its own, which is a cookie jar of its own, as an incognito
// window is.
//
// Every name under .test (RFC 6761: never a real domain) resolves to
// 127.0.0.1, so that the tests can use several host names, and parent
// domains for Domain cookies, on the loopback address. Ports stay those
// of the URL. (*.localhost would not do: chromium treats localhost as a
// secure context, where Secure cookies work over plain http.)
const chromiumHostRules = "MAP *.test 127.0.0.1"

// chromium is the shared browser, started by the first test that needs it
// and stopped by TestMain.
var chromium struct {
	once   sync.Once
	ctx    context.Context // the first tab's: its children open theirs
	stop   func()
	err    error
	output e2e.Buffer
}

func startChromium(bin string) {
	// No UserDataDir: chromedp makes a temporary profile, removes it
	// afterwards and kills whatever chromium process still uses it.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("host-resolver-rules", chromiumHostRules),
		chromedp.CombinedOutput(&chromium.output),
	)
	if os.Geteuid() == 0 {
		// Its sandbox refuses to run as root (CI runs as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	chromium.ctx = ctx
	chromium.stop = func() {
		cancel()
		cancelAlloc()
	}
	// Not under a timeout: the first Run's context is the browser's life.
	if err := chromedp.Do(ctx); err != nil {
		chromium.err = fmt.Errorf("starting %s: %v\n%s", bin, err, chromium.output.String())
	}
}

// stopChromium ends the shared chromium, if one was started.
func stopChromium() {
	if chromium.stop != nil {
		chromium.stop()
	}
}

// tab is one browser tab in a browser context of its own.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab opens a tab in a new browser context (an empty cookie jar) of the
// shared chromium, closed when the test ends. A missing chromium skips the
// test, or fails it under TKTGATE_REQUIRE_E2E=1.
func newTab(t *testing.T) *tab {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		e2e.SkipOrFail(t, "no browser for the browser tests: %s is not installed (apt-get install chromium)", bin)
	}
	chromium.once.Do(func() { startChromium(bin) })
	if chromium.err != nil {
		t.Fatal(chromium.err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Run opens the tab, which lives as long as the context of
	// that Run: this one is the test's, not one with a timeout.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	}))
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx}
}

// run runs action in tb, failing the test after 15 s or on error.
func run[T any](tb *tab, what string, action chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs steps in the tab, failing the test after 15 s or on error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	run(tb, what, chromedp.Steps(steps...))
}

// open navigates to url and waits for the page the redirects end on to
// load.
func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.do("open "+url, chromedp.Navigate(url))
}

// location is the address the tab shows, with hideTicket.
func (tb *tab) location() string {
	tb.t.Helper()
	return hideTicket(run(tb, "read the address", chromedp.Location()))
}

// text is the page's visible text, with hideTicket.
func (tb *tab) text() string {
	tb.t.Helper()
	return hideTicket(run(tb, "read the page", chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)))
}

// urlTicket is a ticket in a URL, raw, escaped or JSON-escaped.
var urlTicket = regexp.MustCompile(`auth_tkt=[^&"\s]+`)

// hideTicket replaces the tickets in URLs by "auth_tkt=TICKET", so that
// the tests can show addresses and compare them, and never show a ticket.
func hideTicket(s string) string { return urlTicket.ReplaceAllString(s, "auth_tkt=TICKET") }

// waitURL waits until the tab has loaded a page whose address starts with
// prefix, after a click or a form submission that navigates.
func (tb *tab) waitURL(prefix string) {
	tb.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := chromedp.Run(tb.ctx, chromedp.Location())
		state := ""
		if err == nil {
			state, err = chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.readyState`))
		}
		if err == nil && strings.HasPrefix(u, prefix) && state == "complete" {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("the tab shows %q (%s, %v); want a loaded page at %s...", hideTicket(u), state, err, prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cookies are the cookies of the tab's jar that the browser would send to
// url, in the order it lists them (Network.getCookies).
func (tb *tab) cookies(url string) []*network.Cookie {
	tb.t.Helper()
	return run(tb, "read the cookie jar", func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		return res.Cookies, err
	})
}

// named are the cookies called name among cs.
func named(cs []*network.Cookie, name string) []*network.Cookie {
	var out []*network.Cookie
	for _, c := range cs {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// describe shows cookies for a failure message: for a ticket its user
// and date, never the ticket itself.
func describe(cs []*network.Cookie) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		// Chromium writes a Domain cookie's domain with a leading dot.
		scope := "host-only " + c.Domain
		if strings.HasPrefix(c.Domain, ".") {
			scope = "Domain=" + c.Domain[1:]
		}
		fmt.Fprintf(&b, "%s=<%s> (%s, path %s, secure %v)", c.Name, ticketInfo(c.Value), scope, c.Path, c.Secure)
	}
	return "[" + b.String() + "]"
}
