//go:build unix

package nginx_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tktgate/tktgate/internal/e2e"
)

// yamlDocs parses every document of a YAML file, with python3's yaml
// module (python3-yaml): Go's standard library has no YAML parser and the
// module adds no dependency.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	py := needBinary(t, "/usr/bin/python3", "python3")
	cmd := exec.Command(py, "-c", "import json, sys, yaml\njson.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'yaml'") {
			e2e.SkipOrFail(t, "python3-yaml not installed")
		}
		t.Fatalf("%s: %v\n%s", path, err, stderr.String())
	}
	var docs []map[string]any
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i, d := range docs {
		if dig(d, "apiVersion") == nil && dig(d, "static_resources") == nil {
			t.Errorf("%s: document %d has no apiVersion", path, i)
		}
	}
	return docs
}

// dig follows keys (string) and indexes (int) into parsed YAML.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// find returns the documents of a kind.
func find(docs []map[string]any, kind string) []map[string]any {
	var r []map[string]any
	for _, d := range docs {
		if d["kind"] == kind {
			r = append(r, d)
		}
	}
	return r
}

// The Kubernetes manifests: valid YAML, the hardening the Deployment
// promises, a config tktgate accepts, and every proxy example pointing at
// the Service that exists.
func TestKubernetesManifests(t *testing.T) {
	docs := yamlDocs(t, "k8s/tktgate.yaml")
	deps := find(docs, "Deployment")
	cms := find(docs, "ConfigMap")
	svcs := find(docs, "Service")
	if len(deps) != 1 || len(cms) != 1 || len(svcs) != 1 {
		t.Fatalf("k8s/tktgate.yaml: %d Deployments, %d ConfigMaps, %d Services; want one each", len(deps), len(cms), len(svcs))
	}
	dep, cm, svc := deps[0], cms[0], svcs[0]
	pod := dig(dep, "spec", "template", "spec")
	c := dig(pod, "containers", 0)

	for what, got := range map[string]any{
		"pod runAsNonRoot":                   dig(pod, "securityContext", "runAsNonRoot"),
		"container readOnlyRootFilesystem":   dig(c, "securityContext", "readOnlyRootFilesystem"),
		"container allowPrivilegeEscalation": dig(c, "securityContext", "allowPrivilegeEscalation"),
		"liveness probe":                     dig(c, "livenessProbe", "httpGet", "path"),
		"readiness probe":                    dig(c, "readinessProbe", "httpGet", "path"),
		"capabilities dropped":               dig(c, "securityContext", "capabilities", "drop", 0),
	} {
		want := map[string]any{
			"pod runAsNonRoot": true, "container readOnlyRootFilesystem": true, "container allowPrivilegeEscalation": false,
			"liveness probe": "/healthz", "readiness probe": "/readyz", "capabilities dropped": "ALL",
		}[what]
		if got != want {
			t.Errorf("Deployment: %s is %v; want %v", what, got, want)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		if dig(c, "resources", "requests", r) == nil {
			t.Errorf("Deployment: no %s request", r)
		}
	}

	// Where the config and the secret are mounted, and from what.
	mounts := map[string]string{} // volume name -> mount path
	for i := 0; dig(c, "volumeMounts", i) != nil; i++ {
		mounts[str(dig(c, "volumeMounts", i, "name"))] = str(dig(c, "volumeMounts", i, "mountPath"))
	}
	var configDir, secretDir, secretName string
	for i := 0; dig(pod, "volumes", i) != nil; i++ {
		v := dig(pod, "volumes", i)
		switch {
		case dig(v, "configMap", "name") == dig(cm, "metadata", "name"):
			configDir = mounts[str(dig(v, "name"))]
		case dig(v, "secret", "secretName") != nil:
			secretDir, secretName = mounts[str(dig(v, "name"))], str(dig(v, "secret", "secretName"))
		}
	}
	if configDir == "" || secretDir == "" {
		t.Fatalf("Deployment: ConfigMap mounted at %q, Secret at %q", configDir, secretDir)
	}
	args := fmt.Sprint(dig(c, "args"))
	if !strings.Contains(args, configDir+"/config.toml") {
		t.Errorf("Deployment args %s do not name %s/config.toml", args, configDir)
	}
	docker, err := os.ReadFile("k8s/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docker), `"`+configDir+`/config.toml"`) {
		t.Errorf("k8s/Dockerfile's CMD does not use %s/config.toml", configDir)
	}
	secrets := find(yamlDocs(t, "k8s/secret.example.yaml"), "Secret")
	if len(secrets) != 1 || dig(secrets[0], "metadata", "name") != secretName || dig(secrets[0], "stringData", "secret") == nil {
		t.Errorf("k8s/secret.example.yaml does not define the Secret %q with the key secret", secretName)
	}

	// The config: tktgate -check accepts it, with its secret_file in place.
	config := str(dig(cm, "data", "config.toml"))
	secretFile := secretDir + "/secret"
	if !strings.Contains(config, `secret_file = "`+secretFile+`"`) {
		t.Fatalf("config.toml does not read the secret from %s", secretFile)
	}
	dir := t.TempDir()
	testSecret := filepath.Join(dir, "secret")
	os.WriteFile(testSecret, []byte("k8s-test-secret\n"), 0o600)
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(config, secretFile, testSecret)), 0o644)
	if out, err := exec.Command(tktgateBinary(t), "-check", "-config", cfgPath).CombinedOutput(); err != nil {
		t.Errorf("tktgate -check on the ConfigMap's config.toml: %v\n%s", err, out)
	}
	port := fmt.Sprint(dig(c, "ports", 0, "containerPort"))
	if !strings.Contains(config, `listen = "0.0.0.0:`+port+`"`) {
		t.Errorf("config.toml does not listen on the container port %s", port)
	}
	checkIsolation(t, docs, dep, svc, config, cfgPath)

	// The address every proxy example uses.
	svcHost := fmt.Sprintf("%s.%s.svc.cluster.local:%v", dig(svc, "metadata", "name"), dig(svc, "metadata", "namespace"), dig(svc, "spec", "ports", 0, "port"))
	if dig(svc, "spec", "selector", "app.kubernetes.io/name") != dig(dep, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") {
		t.Error("the Service does not select the Deployment's pods")
	}
	policies := map[string]bool{"auth": true}
	for _, line := range strings.Split(config, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "[policy."); ok {
			policies["auth/"+strings.TrimSuffix(name, "]")] = true
		}
	}
	checkAuthURL := func(file, u string) {
		t.Helper()
		p, err := url.Parse(u)
		if err != nil || p.Host != svcHost || !policies[strings.TrimPrefix(p.Path, "/")] {
			t.Errorf("%s: auth address %q; want http://%s/ and a policy of config.toml %v", file, u, svcHost, policies)
		}
	}
	for _, ing := range find(yamlDocs(t, "k8s/ingress-nginx.yaml"), "Ingress") {
		checkAuthURL("k8s/ingress-nginx.yaml", str(dig(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/auth-url")))
	}
	for _, mw := range find(yamlDocs(t, "k8s/traefik.yaml"), "Middleware") {
		if fa := dig(mw, "spec", "forwardAuth"); fa != nil {
			checkAuthURL("k8s/traefik.yaml", str(dig(fa, "address")))
			// Traefik hands denials to the browser: they must be 302s.
			if !strings.HasSuffix(str(dig(fa, "address")), "?redirect=1") {
				t.Errorf("k8s/traefik.yaml: %q lacks ?redirect=1", str(dig(fa, "address")))
			}
			if dig(fa, "trustForwardHeader") != false || fmt.Sprint(dig(fa, "addAuthCookiesToResponse")) != "[auth_tkt]" {
				t.Errorf("k8s/traefik.yaml: %s trusts forwarded headers or loses refreshed cookies", dig(mw, "metadata", "name"))
			}
		}
	}
	envoy := yamlDocs(t, "k8s/envoy.yaml")
	if len(envoy) != 1 || !strings.Contains(fmt.Sprint(envoy[0]), "path_override:/auth") {
		t.Error("k8s/envoy.yaml: no ext_authz http_service with path_override /auth")
	}
}

// What ingress-nginx generates for k8s/ingress-nginx.yaml (the shipped
// k8s/ingress-nginx.conf) on the real nginx, with the controller's
// set-misc module: the annotations work with tktgate.
func TestIngressNginx(t *testing.T) {
	t.Parallel()
	conf, err := os.ReadFile("k8s/ingress-nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	checkIngressRendering(t, string(conf))

	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", ""))
	app := startApp(t)
	addr := startNginx(t, render(t, "k8s/ingress-nginx.conf", "tktgate.tktgate.svc.cluster.local:9180", listen, shippedApp, app),
		"/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_set_misc_module.so")
	checkSite(t, site{b: newBrowser(addr, "app.example.com", ""), gate: g, denied: ingressDenied})
}

// ingressDenied: auth-signin is one URL for every 401 (tktgate's Location
// is not used); a 403 stays a plain 403.
func ingressDenied(t *testing.T, a *answer, d denial, orig string) {
	t.Helper()
	if d == toUnauth {
		plain(t, a, d, orig)
		return
	}
	checkRedirect(t, a, "https://login.example.com/login", orig)
}

// ingressNames are the location names the controller gives an Ingress's
// auth subrequest and sign-in redirect (internal/ingress/controller/
// template/template.go): /_external-auth-<base64url(path)>-<pathType> and
// @<sha1(path + auth-signin)>; path is the Ingress's first path.
func ingressNames(ing map[string]any) (path, authLoc, signinLoc string) {
	path = str(dig(ing, "spec", "rules", 0, "http", "paths", 0, "path"))
	pathType := str(dig(ing, "spec", "rules", 0, "http", "paths", 0, "pathType"))
	authLoc = "/_external-auth-" + base64.RawURLEncoding.EncodeToString([]byte(path)) + "-" + pathType
	sum := sha1.Sum([]byte(path + annotation(ing, "auth-signin")))
	return path, authLoc, "@" + hex.EncodeToString(sum[:])
}

// annotation is the value of the ingress-nginx annotation name on ing.
func annotation(ing map[string]any, name string) string {
	return str(dig(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/"+name))
}

// checkIngressRendering: the rendered file is what the controller makes of
// the annotations in k8s/ingress-nginx.yaml, named as the controller names
// things (internal/ingress/controller/template/template.go).
func checkIngressRendering(t *testing.T, conf string) {
	t.Helper()
	for _, ing := range find(yamlDocs(t, "k8s/ingress-nginx.yaml"), "Ingress") {
		a := func(name string) string { return annotation(ing, name) }
		path, authLoc, signinLoc := ingressNames(ing)
		want := []string{
			"location = " + authLoc + " {",
			`set $target "` + a("auth-url") + `";`,
			"location " + signinLoc + " {",
			"return 302 " + a("auth-signin") + "?" + a("auth-signin-redirect-param") + "=$pass_access_scheme://$http_host$escaped_request_uri;",
			"location " + path + " {",
			"auth_request        " + authLoc + ";",
			"error_page 401 = " + signinLoc + ";",
		}
		if a("auth-always-set-cookie") == "true" {
			want = append(want, "add_header          Set-Cookie $auth_cookie always;")
		}
		for i, h := range strings.Split(a("auth-response-headers"), ",") {
			v := strings.ReplaceAll(strings.ToLower(h), "-", "_")
			want = append(want, fmt.Sprintf("auth_request_set $authHeader%d $upstream_http_%s;", i, v), fmt.Sprintf("proxy_set_header '%s' $authHeader%d;", h, i))
		}
		for _, w := range want {
			if !strings.Contains(conf, w) {
				t.Errorf("k8s/ingress-nginx.conf lacks %q (Ingress %s)", w, dig(ing, "metadata", "name"))
			}
		}
	}
}

// TestIngressNginxCached runs what the controller makes of
// k8s/ingress-nginx-cached.yaml: ingress-nginx.conf plus, per its
// nginx.tmpl, the auth cache (proxy_cache_path at the http level; in each
// auth location the key set and hashed by ngx_conf_rewrite_auth.lua,
// proxy_cache, proxy_cache_valid per auth-cache-duration, proxy_buffering
// on). The Lua module stands in for the controller's OpenResty.
func TestIngressNginxCached(t *testing.T) {
	t.Parallel()
	conf, err := os.ReadFile("k8s/ingress-nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	plainIngs := find(yamlDocs(t, "k8s/ingress-nginx.yaml"), "Ingress")
	ings := find(yamlDocs(t, "k8s/ingress-nginx-cached.yaml"), "Ingress")
	if len(ings) != len(plainIngs) {
		t.Fatalf("ingress-nginx-cached.yaml has %d Ingresses, ingress-nginx.yaml %d", len(ings), len(plainIngs))
	}
	dir := t.TempDir()
	lua := filepath.Join(dir, "ngx_conf_rewrite_auth.lua")
	// The controller's file (rootfs/etc/nginx/lua/nginx/), verbatim.
	if err := os.WriteFile(lua, []byte("ngx.var.cache_key = ngx.encode_base64(ngx.sha1_bin(ngx.var.tmp_cache_key))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cms := find(yamlDocs(t, "k8s/ingress-nginx-cached.yaml"), "ConfigMap")
	if len(cms) != 1 {
		t.Fatalf("ingress-nginx-cached.yaml has %d ConfigMaps; want the controller's", len(cms))
	}
	text := str(dig(cms[0], "data", "http-snippet")) + "proxy_cache_path " + filepath.Join(dir, "nginx-cache-auth") + " levels=1:2 keys_zone=auth_cache:10m max_size=128m inactive=30m use_temp_path=off;\n" + string(conf)
	for i, ing := range ings {
		ann := func(name string) string { return annotation(ing, name) }
		// The same objects as ingress-nginx.yaml but for the cache.
		for k, v := range dig(plainIngs[i], "metadata", "annotations").(map[string]any) {
			if got := ann(strings.TrimPrefix(k, "nginx.ingress.kubernetes.io/")); got != v {
				t.Errorf("Ingress %d: %s is %q here, %q in ingress-nginx.yaml", i, k, got, v)
			}
		}
		key, dur := ann("auth-cache-key"), ann("auth-cache-duration")
		// The annotation's validator (parser.NGINXVariable) and what the
		// key must hold (see the file's header).
		if !regexp.MustCompile(`^[A-Za-z0-9\-\_\$\{\}]*$`).MatchString(key) {
			t.Errorf("auth-cache-key %q would be refused by the controller", key)
		}
		for _, v := range []string{"${remote_addr}-", "${http_cookie}", "${tktgate_url_ticket}"} {
			if !strings.Contains(key, v) {
				t.Errorf("auth-cache-key %q lacks %s", key, v)
			}
		}
		host := str(dig(ing, "spec", "rules", 0, "host"))
		_, authLoc, signinLoc := ingressNames(ing)

		open := "    location = " + authLoc + " {\n        internal;\n\n        access_log off;\n"
		start := strings.Index(text, open)
		if start < 0 {
			t.Fatalf("ingress-nginx.conf has no %q", open)
		}
		end := start + strings.Index(text[start:], "\n    }\n")
		loc := text[start:end]
		cache := fmt.Sprintf("\n        set $tmp_cache_key '%s%s%s';\n        set $cache_key '';\n\n        rewrite_by_lua_file %s;\n\n        proxy_cache auth_cache;\n", host, authLoc, key, lua)
		for _, d := range strings.Split(dur, ",") {
			cache += "        proxy_cache_valid " + strings.TrimSpace(d) + ";\n"
		}
		cache += "\n        proxy_cache_key \"$cache_key\";\n"
		loc = strings.Replace(loc, open, open+cache, 1)
		loc = strings.Replace(loc, "proxy_buffering                         off;", `proxy_buffering                         "on";`, 1)
		text = text[:start] + loc + text[end:]

		// The test's own addition: the cache status, as X-Auth-Cache.
		text = strings.Replace(text, "        auth_request        "+authLoc+";\n",
			"        auth_request        "+authLoc+";\n        auth_request_set $auth_cache $upstream_cache_status;\n        add_header X-Auth-Cache $auth_cache always;\n", 1)
		text = strings.Replace(text, "    location "+signinLoc+" {\n        internal;\n",
			"    location "+signinLoc+" {\n        internal;\n        add_header X-Auth-Cache $auth_cache always;\n", 1)
	}
	if n := strings.Count(text, "$upstream_cache_status"); n != len(ings) {
		t.Fatalf("the cache status was added to %d locations; want %d", n, len(ings))
	}

	listen := freeAddr(t)
	g := startTktgate(t, listen, tktgateConfig(listen, true, "X-Real-IP", "\n[cache]\nmax_age = \"30s\"\n"))
	r := startRelay(t, g.addr)
	app := startApp(t)
	text = strings.ReplaceAll(text, "tktgate.tktgate.svc.cluster.local:9180", r.addr())
	text = strings.ReplaceAll(text, shippedApp, app)
	addr := startNginx(t, text, "/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_set_misc_module.so",
		"/usr/lib/nginx/modules/ngx_http_lua_module.so")
	s := site{b: newBrowser(addr, "app.example.com", ""), gate: g, denied: ingressDenied}
	checkSite(t, s)
	checkCache(t, s, r, addr, "MISS")
}

// checkIsolation: whoever reaches tktgate's auth port can claim any client
// address (trusted_proxies is the pod network) and hold connections, so a
// NetworkPolicy admits the ingress controller alone to it; /metrics is
// served on a port of its own (metrics_listen), for a scraper, and the
// auth port answers 404 there. cfgPath is the ConfigMap's config with a
// test secret, which this runs.
func checkIsolation(t *testing.T, docs []map[string]any, dep, svc map[string]any, config, cfgPath string) {
	t.Helper()
	// The NetworkPolicy of the tktgate pods.
	podLabels, _ := dig(dep, "spec", "template", "metadata", "labels").(map[string]any)
	var np map[string]any
	for _, d := range find(docs, "NetworkPolicy") {
		sel, _ := dig(d, "spec", "podSelector", "matchLabels").(map[string]any)
		match := len(sel) > 0 && dig(d, "metadata", "namespace") == dig(dep, "metadata", "namespace")
		for k, v := range sel {
			match = match && podLabels[k] == v
		}
		if match {
			np = d
		}
	}
	if np == nil {
		t.Error("k8s/tktgate.yaml: no NetworkPolicy selects the tktgate pods: any pod can reach the auth port, claim any client address and read /metrics")
	}
	c := dig(dep, "spec", "template", "spec", "containers", 0)
	ports := map[string]string{} // container port name -> number
	for i := 0; dig(c, "ports", i) != nil; i++ {
		ports[str(dig(c, "ports", i, "name"))] = fmt.Sprint(dig(c, "ports", i, "containerPort"))
	}
	// A port as a NetworkPolicy or Service names it: a name or a number.
	number := func(v any) string {
		if n, ok := ports[str(v)]; ok {
			return n
		}
		return fmt.Sprint(v)
	}
	auth, metrics := ports["http"], ports["metrics"]
	if auth == "" || metrics == "" || auth == metrics {
		t.Errorf("Deployment: container ports %v; want http (auth) and metrics apart", ports)
		return
	}
	if !strings.Contains(config, `metrics_listen = "0.0.0.0:`+metrics+`"`) {
		t.Errorf("config.toml does not serve /metrics on the metrics port %s (metrics_listen)", metrics)
	}
	var svcMetrics bool
	for i := 0; dig(svc, "spec", "ports", i) != nil; i++ {
		svcMetrics = svcMetrics || number(dig(svc, "spec", "ports", i, "targetPort")) == metrics
	}
	if !svcMetrics {
		t.Errorf("the Service has no port for the metrics port %s", metrics)
	}

	if np == nil {
		return
	}
	if !strings.Contains(fmt.Sprint(dig(np, "spec", "policyTypes")), "Ingress") {
		t.Errorf("NetworkPolicy %s: policyTypes %v lacks Ingress", dig(np, "metadata", "name"), dig(np, "spec", "policyTypes"))
	}
	// The ingress controller as ingress-nginx's manifests and Helm chart
	// label it.
	controller := func(peer any) bool {
		return dig(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "ingress-nginx" &&
			dig(peer, "podSelector", "matchLabels", "app.kubernetes.io/name") == "ingress-nginx"
	}
	var toAuth, toMetrics bool
	for i := 0; dig(np, "spec", "ingress", i) != nil; i++ {
		rule := dig(np, "spec", "ingress", i)
		var rulePorts []string
		for j := 0; dig(rule, "ports", j) != nil; j++ {
			rulePorts = append(rulePorts, number(dig(rule, "ports", j, "port")))
		}
		if len(rulePorts) == 0 || dig(rule, "from", 0) == nil {
			t.Errorf("NetworkPolicy rule %d admits every port or every peer: %v", i, rule)
			continue
		}
		for j := 0; dig(rule, "from", j) != nil; j++ {
			peer := dig(rule, "from", j)
			// Both selectors in one peer: pods with these labels in that
			// namespace (a peer with only one of them is much wider).
			if dig(peer, "podSelector", "matchLabels") == nil || dig(peer, "namespaceSelector", "matchLabels") == nil || dig(peer, "ipBlock") != nil {
				t.Errorf("NetworkPolicy rule %d, peer %d: %v; want a namespaceSelector and a podSelector together", i, j, peer)
			}
			for _, p := range rulePorts {
				switch p {
				case auth:
					toAuth = true
					if !controller(peer) {
						t.Errorf("NetworkPolicy rule %d admits %v to the auth port %s; want the ingress controller only", i, peer, auth)
					}
				case metrics:
					toMetrics = true
				default:
					t.Errorf("NetworkPolicy rule %d admits port %s, which the container does not have", i, p)
				}
			}
		}
	}
	if !toAuth || !toMetrics {
		t.Errorf("NetworkPolicy: the auth port admitted %v, the metrics port %v; want both, to their clients", toAuth, toMetrics)
	}

	// The config as it runs: /metrics on its own port only.
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	listen, metricsListen := freeAddr(t), freeAddr(t)
	run := strings.Replace(string(b), `listen = "0.0.0.0:`+auth+`"`, `listen = "`+listen+`"`, 1)
	run = strings.Replace(run, `metrics_listen = "0.0.0.0:`+metrics+`"`, `metrics_listen = "`+metricsListen+`"`, 1)
	startTktgate(t, listen, run)
	for addr, want := range map[string]int{listen: 404, metricsListen: 200} {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || want == 200 && !strings.Contains(string(body), "tktgate_") {
			t.Errorf("GET http://%s/metrics: %d %.60q; want %d", addr, resp.StatusCode, body, want)
		}
	}
}
