package verifier_test

import (
	"strings"
	"testing"

	"github.com/tktgate/tktgate/verifier"
)

// The cases follow the quirks measured against mod_auth_tkt 2.3.99 (see
// auth_tkt.md): name boundaries, empty values, the ", " join of several
// Cookie headers.
func TestFindCookie(t *testing.T) {
	f := func(header, want string) {
		t.Helper()
		got := verifier.FindCookie([]byte(header), []byte("auth_tkt"))
		if string(got) != want || (got == nil) != (want == "") {
			t.Errorf("FindCookie(%q) = %q, want %q", header, got, want)
		}
	}
	f("auth_tkt=abc", "abc")
	f("auth_tkt=abc; other=1", "abc")
	f("a=1; auth_tkt=abc", "abc")
	f("a=1;auth_tkt=abc", "abc")
	f("a=1, auth_tkt=abc", "abc") // second Cookie header, joined like httpd
	f("a=1,auth_tkt=abc", "")     // ',' alone is no separator
	f("a=1;\tauth_tkt=abc", "")   // nor is a tab
	f("xauth_tkt=abc", "")
	f("xauth_tkt=abc; auth_tkt=def", "def")
	f("auth_tkt=; auth_tkt=def", "def") // empty values are skipped
	f("auth_tkt=;auth_tkt=def", "def")
	f(`auth_tkt=""; auth_tkt=def`, `""`) // but "" is a value
	f("auth_tkt=bad; auth_tkt=def", "bad")
	f("auth_tkt = abc", "")
	f("auth_tkt=a b ", "a b ") // untrimmed
	f("auth_tkt", "")
	f("auth_tkt=", "")
	f("auth_tkt_other=x; auth_tkt=y", "y")
	f("", "")
	f("auth_tkt=abc, other=1", "abc, other=1") // runs into the next header
}

func TestCookieTicketLength(t *testing.T) {
	v := mustNew(t, verifier.Options{Secret: []byte("s")})
	long := strings.Repeat("a", 40)
	f := func(header, want string) {
		t.Helper()
		if got := v.CookieTicket([]byte(header), []byte("auth_tkt")); string(got) != want {
			t.Errorf("CookieTicket(%q) = %q, want %q", header, got, want)
		}
	}
	f("auth_tkt="+long, long)
	f("auth_tkt="+long[:39], "")         // shorter than digest+time: no ticket
	f(`auth_tkt=""; auth_tkt=`+long, "") // the short first value hides the good one
	f("auth_tkt=; auth_tkt="+long, long)
}

func TestQueryTicket(t *testing.T) {
	f := func(query, want string, wantOK bool) {
		t.Helper()
		got, ok := verifier.QueryTicket([]byte(query), []byte("auth_tkt"))
		if string(got) != want || ok != wantOK {
			t.Errorf("QueryTicket(%q) = %q, %v; want %q, %v", query, got, ok, want, wantOK)
		}
	}
	f("auth_tkt=abc", "abc", true)
	f("a=1&auth_tkt=abc&b=2", "abc", true)
	f("a=1&&&auth_tkt=abc", "abc", true)
	f("auth_tkt==abc=", "abc=", true) // the '=' run after the key is skipped
	f("auth_tkt=YWJj%3D%3D", "YWJj%3D%3D", true)
	f("auth_tkt=1&auth_tkt=2", "1", true)
	f("auth_tkt", "", true)
	f("auth_tkt=", "", true)
	f("xauth_tkt=1", "", false)
	f("a=1;auth_tkt=2", "", false) // only '&' separates
	f("", "", false)
}

func TestHasToken(t *testing.T) {
	f := func(tokens string, required []string, want bool) {
		t.Helper()
		var req [][]byte
		for _, r := range required {
			req = append(req, []byte(r))
		}
		if got := verifier.HasToken([]byte(tokens), req); got != want {
			t.Errorf("HasToken(%q, %q) = %v, want %v", tokens, required, got, want)
		}
	}
	f("admin,editor", []string{"editor"}, true)
	f("admin,editor", []string{"root", "admin"}, true)
	f("admin,editor", []string{"Admin"}, false)
	f("admin,editor", []string{"admi"}, false)
	f("admin ,editor", []string{"admin"}, false) // exact: no trimming
	f("", []string{"admin"}, false)
	f(",,admin,,", []string{"admin"}, true)
	f(",", []string{""}, true) // only empty requirements: no requirement
	f("", nil, true)
	f("x", nil, true)
	f("a,,b", []string{"", "c"}, false)
}
