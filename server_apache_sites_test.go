package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tktgate/tktgate/internal/apachetest"
	"github.com/tktgate/tktgate/verifier"
)

// The "vhosts" case of TestServerApacheDifferential: one Apache with two
// name-based <VirtualHost>s, each with its own TKTAuthSecret (one also
// with its own TKTAuthSecretOld and TKTAuthDigestType), beside the main
// server's; one tktgate with a policy per site holding the same secrets.
// Tickets signed for every site, with every secret and digest, go to
// every site on both sides, fresh, past their refresh point and expired:
// the verdicts, fields and new tickets must agree, and each side must
// accept the other's refreshed or re-signed ticket.

// adSite is a <VirtualHost> and the secrets of its tktgate policy.
type adSite struct {
	host        string // ServerName, the Host header that selects it
	secret, old string // old "": none of its own
	digest      verifier.Digest
}

const (
	adMainSecret = "main server's secret"
	adMainOld    = "main server's old secret"
)

var adSites = map[string]adSite{
	"one": {host: "one.test", secret: "site one's secret", old: "site one's old secret", digest: verifier.SHA256},
	"two": {host: "two.test", secret: "site two's secret", digest: verifier.MD5},
}

// adSiteLocs: a location on each site, and one on the main server.
var adSiteLocs = []adLoc{
	{name: "one", site: "one", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0.5"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 0.5"}, timeout: time.Hour, refresh: 0.5},
	{name: "two", site: "two", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0.5", "TKTAuthToken admin editor"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 0.5", `tokens = ["admin", "editor"]`}, timeout: time.Hour, refresh: 0.5, tokens: []string{"admin", "editor"}},
	{name: "main", apache: []string{"TKTAuthTimeout 1h", "TKTAuthTimeoutRefresh 0.5"},
		policy: []string{`timeout = "1h"`, "timeout_refresh = 0.5"}, timeout: time.Hour, refresh: 0.5},
}

// knownVhostOld: Apache's merge_auth_tkt_serv_config gives a
// <VirtualHost> with a TKTAuthSecret but no TKTAuthSecretOld the main
// server's old secret; a tktgate policy with a secret of its own has no
// old secret but its own, so that another site's tickets never pass.
const knownVhostOld = "a site with its own secret but no old secret: Apache accepts the main server's old secret there (inherited), tktgate refuses it"

// adStartSites starts the Apache and the tktgate of the vhosts case.
func adStartSites(t *testing.T) *adEnv {
	e := &adEnv{digest: verifier.MD5, secret: adMainSecret, old: adMainOld, locs: map[string]adLoc{}, vs: map[string]*verifier.Verifier{}, sites: adSites}
	cfg := apachetest.Config{Secret: adMainSecret, OldSecret: adMainOld}
	vlocs := map[string][]apachetest.Location{}
	var toml strings.Builder
	fmt.Fprintf(&toml, "[ticket]\nsecret = %q\nsecret_old = %q\n", adMainSecret, adMainOld)
	fmt.Fprintf(&toml, "[redirect]\nlogin_url = %q\ntimeout_url = %q\nunauth_url = %q\n", adLoginURL, adTimeoutURL, adUnauthURL)
	for _, l := range adSiteLocs {
		loc := apachetest.Location{
			Path:       "/" + l.name,
			Directives: append([]string{"TKTAuthTimeoutURL " + adTimeoutURL, "TKTAuthUnauthURL " + adUnauthURL}, l.apache...),
		}
		o := verifier.Options{Secret: []byte(adMainSecret), OldSecret: []byte(adMainOld), Timeout: l.timeout, Refresh: l.refresh}
		fmt.Fprintf(&toml, "[policy.%s]\n%s\n", l.name, strings.Join(l.policy, "\n"))
		if s, ok := adSites[l.site]; ok {
			vlocs[l.site] = append(vlocs[l.site], loc)
			fmt.Fprintf(&toml, "secret = %q\ndigest_type = %q\n", s.secret, s.digest)
			o.Secret, o.OldSecret, o.Digest = []byte(s.secret), nil, s.digest
			if s.old != "" {
				fmt.Fprintf(&toml, "secret_old = %q\n", s.old)
				o.OldSecret = []byte(s.old)
			}
		} else {
			cfg.Locations = append(cfg.Locations, loc)
		}
		v, err := verifier.New(o)
		if err != nil {
			t.Fatal(err)
		}
		e.vs[l.name], e.locs[l.name] = v, l
	}
	for _, name := range []string{"one", "two"} {
		s := adSites[name]
		cfg.VirtualHosts = append(cfg.VirtualHosts, apachetest.VirtualHost{
			ServerName: s.host, Secret: s.secret, OldSecret: s.old, DigestType: s.digest.String(), Locations: vlocs[name],
		})
	}
	e.apache = apachetest.Start(t, cfg)
	addr, _, _ := startServer(t, toml.String())
	e.gate = &adClient{addr: addr}
	t.Cleanup(e.gate.close)
	return e
}

// digestOf is the digest tickets are signed with at loc.
func (e *adEnv) digestOf(loc string) verifier.Digest {
	if s, ok := e.sites[e.locs[loc].site]; ok {
		return s.digest
	}
	return e.digest
}

// knownSiteVerdict names the known difference r's verdicts show, if any.
func (e *adEnv) knownSiteVerdict(r *adRun) string {
	l := e.locs[r.c.loc]
	if s, ok := e.sites[l.site]; ok && s.old == "" && r.c.note == "main-old" && r.ap.out != adLogin && r.gt.out == adLogin {
		return knownVhostOld
	}
	return ""
}

// adSigner is a key a ticket is signed with: a site's secret or old
// secret, with its digest or another.
type adSigner struct {
	note, secret string
	digest       verifier.Digest
}

var adSigners = []adSigner{
	{"main", adMainSecret, verifier.MD5},
	{"main-old", adMainOld, verifier.MD5},
	{"one", adSites["one"].secret, verifier.SHA256},
	{"one-old", adSites["one"].old, verifier.SHA256},
	{"one as MD5", adSites["one"].secret, verifier.MD5},
	{"two", adSites["two"].secret, verifier.MD5},
	{"two as SHA256", adSites["two"].secret, verifier.SHA256},
}

// signs tells whether s makes tickets loc accepts (in tktgate: a site
// with a secret of its own has no other site's old secret).
func (e *adEnv) signs(s adSigner, loc string) bool {
	secret, old, digest := adMainSecret, adMainOld, verifier.MD5
	if site, ok := e.sites[e.locs[loc].site]; ok {
		secret, old, digest = site.secret, site.old, site.digest
	}
	return s.digest == digest && (s.secret == secret || old != "" && s.secret == old)
}

// siteCases are tickets of every signer at every site, fresh, past their
// refresh point and expired, twice over with other random fields.
func (g *adGen) siteCases() []adCase {
	var cs []adCase
	for range 2 {
		for _, l := range adSiteLocs {
			for _, s := range adSigners {
				for _, age := range []time.Duration{
					g.freshAge(),
					35*time.Minute + time.Duration(g.Rand.Int64N(int64(20*time.Minute))),
					65*time.Minute + time.Duration(g.Rand.Int64N(int64(time.Hour))),
				} {
					k, hdr := g.tkt(l.name, age)
					text := apachetest.Ticket{UID: k.uid, Tokens: k.tokens, Data: k.data, TS: k.ts, IP: k.ip, Secret: s.secret, Bang2: k.bang2}.Text(s.digest.String())
					cookie := adCookieOf(g.EncIntact(text))
					if g.e.signs(s, l.name) {
						cs = append(cs, g.valid("vhost "+l.name, s.note, l.name, g.suffix(), k, hdr, cookie))
					} else {
						cs = append(cs, adCase{family: "vhost " + l.name, note: s.note, loc: l.name, ip: hdr, cookie: cookie, want: adLogin})
					}
				}
			}
		}
	}
	return cs
}
