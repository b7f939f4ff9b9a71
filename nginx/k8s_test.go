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
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
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

// kustomize renders a kustomization with `kubectl kustomize` and parses
// the result. Offline: the shipped kustomizations name no remote base.
func kustomize(t *testing.T, dir string) []map[string]any {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		e2e.SkipOrFail(t, "kubectl not installed: the kustomize base and overlays of k8s/ cannot be rendered (kubectl >= 1.27 has kustomize 5 built in)")
	}
	// What the files are written for and tested with: kustomize 5
	// (kubectl 1.27 or later). Debian's kubectl 1.20 has kustomize 2,
	// which reads neither the overlays' patches nor their generators so.
	out, err := exec.Command(kubectl, "version", "--client", "-o", "json").Output()
	var v struct{ KustomizeVersion string }
	if err != nil || json.Unmarshal(out, &v) != nil {
		t.Fatalf("kubectl version --client: %v\n%s", err, out)
	}
	if major, _, _ := strings.Cut(strings.TrimPrefix(v.KustomizeVersion, "v"), "."); atoi(major) < 5 {
		e2e.SkipOrFail(t, "kubectl's kustomize is %q; want v5 or later (kubectl >= 1.27)", v.KustomizeVersion)
	}
	cmd := exec.Command(kubectl, "kustomize", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return yamlDocs(t, path)
}

// atoi is s as a number, -1 if it is none.
func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// k8sBase is the rendered base (k8s/base), with what the tests look into.
type k8sBase struct {
	docs                   []map[string]any
	dep, svc, cm, pdb, np  map[string]any
	pod, c                 any               // the pod spec, its container
	podLabels              map[string]any    // the pod template's labels
	ports                  map[string]string // container port name -> number
	config                 string            // the ConfigMap's config.toml
	cfg                    map[string]any    // config decoded
	configDir, secretDir   string            // where the two volumes are mounted
	secretName, configName string            // what the volumes hold
}

// renderBase renders k8s/base and finds its objects, one of each kind.
func renderBase(t *testing.T) *k8sBase {
	t.Helper()
	b := &k8sBase{docs: kustomize(t, "k8s/base")}
	one := func(kind string) map[string]any {
		l := find(b.docs, kind)
		if len(l) != 1 {
			t.Fatalf("k8s/base: %d %s objects; want one", len(l), kind)
		}
		return l[0]
	}
	one("Namespace")
	b.dep, b.svc, b.cm = one("Deployment"), one("Service"), one("ConfigMap")
	b.pdb, b.np = one("PodDisruptionBudget"), one("NetworkPolicy")
	if n := len(b.docs); n != 6 {
		t.Errorf("k8s/base renders %d objects; want the six above (a Secret must not be shipped)", n)
	}
	for _, d := range b.docs {
		if ns := dig(d, "metadata", "namespace"); d["kind"] != "Namespace" && ns != "tktgate" {
			t.Errorf("k8s/base: %s %s is in the namespace %v; want tktgate", d["kind"], dig(d, "metadata", "name"), ns)
		}
	}
	b.pod = dig(b.dep, "spec", "template", "spec")
	b.c = dig(b.pod, "containers", 0)
	b.podLabels, _ = dig(b.dep, "spec", "template", "metadata", "labels").(map[string]any)
	b.ports = map[string]string{}
	for i := 0; dig(b.c, "ports", i) != nil; i++ {
		b.ports[str(dig(b.c, "ports", i, "name"))] = fmt.Sprint(dig(b.c, "ports", i, "containerPort"))
	}
	b.config = str(dig(b.cm, "data", "config.toml"))
	if _, err := toml.Decode(b.config, &b.cfg); err != nil {
		t.Fatalf("the ConfigMap's config.toml: %v", err)
	}

	mounts := map[string]string{} // volume name -> mount path
	for i := 0; dig(b.c, "volumeMounts", i) != nil; i++ {
		m := dig(b.c, "volumeMounts", i)
		mounts[str(dig(m, "name"))] = str(dig(m, "mountPath"))
		// A subPath mount is never updated: a rotated Secret would not
		// reach tktgate.
		if dig(m, "subPath") != nil || dig(m, "subPathExpr") != nil {
			t.Errorf("Deployment: volume %s mounted with a subPath, which the kubelet never updates", dig(m, "name"))
		}
	}
	for i := 0; dig(b.pod, "volumes", i) != nil; i++ {
		v := dig(b.pod, "volumes", i)
		if n := dig(v, "configMap", "name"); n != nil {
			b.configDir, b.configName = mounts[str(dig(v, "name"))], str(n)
		}
		if n := dig(v, "secret", "secretName"); n != nil {
			b.secretDir, b.secretName = mounts[str(dig(v, "name"))], str(n)
		}
	}
	return b
}

// number is a port as a Service, probe or NetworkPolicy names it (a name
// of the container's ports, or a number) as a number.
func (b *k8sBase) number(v any) string {
	if n, ok := b.ports[str(v)]; ok {
		return n
	}
	return fmt.Sprint(v)
}

// selects: sel is a non-empty label selector matching the tktgate pods.
func (b *k8sBase) selects(sel any) bool {
	m, _ := sel.(map[string]any)
	for k, v := range m {
		if b.podLabels[k] != v {
			return false
		}
	}
	return len(m) > 0
}

// cfgString is a string key of the config, by its path ("ticket",
// "secret_file").
func (b *k8sBase) cfgString(path ...any) string {
	return str(dig(b.cfg, path...))
}

// The kustomize base: the hardening the Deployment promises, replicas and
// a rolling update that never has fewer than two serving, a stop that
// loses no request, every selector on the tktgate pods, a config tktgate
// accepts on the ports the pod opens, and the Secret where the config
// reads it.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	b := renderBase(t)
	dep, pod, c := b.dep, b.pod, b.c

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

	// Every selector picks the tktgate pods: the Service routes to them,
	// the budget protects them, the policy guards them, the spread
	// spreads them.
	for what, sel := range map[string]any{
		"the Deployment's selector":      dig(dep, "spec", "selector", "matchLabels"),
		"the Service's selector":         dig(b.svc, "spec", "selector"),
		"the PodDisruptionBudget's":      dig(b.pdb, "spec", "selector", "matchLabels"),
		"the NetworkPolicy's":            dig(b.np, "spec", "podSelector", "matchLabels"),
		"the topology spread's selector": dig(pod, "topologySpreadConstraints", 0, "labelSelector", "matchLabels"),
	} {
		if !b.selects(sel) {
			t.Errorf("%s %v does not select the pods (labels %v)", what, sel, b.podLabels)
		}
	}

	checkAvailability(t, b)

	// The config: generated (a change is a rollout, see kustomization.yaml)
	// and mounted where the args read it.
	if name := str(dig(b.cm, "metadata", "name")); !strings.HasPrefix(name, "tktgate-config-") || b.configName != name {
		t.Errorf("ConfigMap %q, Deployment mounts %q; want the same, generated with its hash suffix", name, b.configName)
	}
	if b.configDir == "" || b.secretDir == "" {
		t.Fatalf("Deployment: ConfigMap mounted at %q, Secret at %q", b.configDir, b.secretDir)
	}
	args := fmt.Sprint(dig(c, "args"))
	if !strings.Contains(args, b.configDir+"/config.toml") {
		t.Errorf("Deployment args %s do not name %s/config.toml", args, b.configDir)
	}
	docker, err := os.ReadFile("k8s/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docker), `"`+b.configDir+`/config.toml"`) {
		t.Errorf("k8s/Dockerfile's CMD does not use %s/config.toml", b.configDir)
	}

	// The secret: the file config.toml reads is a key of the Secret the
	// Deployment mounts, as secret.example.yaml defines it.
	secretFile := b.cfgString("ticket", "secret_file")
	if filepath.Dir(secretFile) != b.secretDir {
		t.Fatalf("config.toml reads the secret from %q, the Secret is mounted at %s", secretFile, b.secretDir)
	}
	secrets := find(yamlDocs(t, "k8s/secret.example.yaml"), "Secret")
	if len(secrets) != 1 || dig(secrets[0], "metadata", "name") != b.secretName || dig(secrets[0], "metadata", "namespace") != "tktgate" ||
		dig(secrets[0], "stringData", filepath.Base(secretFile)) == nil {
		t.Errorf("k8s/secret.example.yaml does not define the Secret %q in tktgate with the key %s", b.secretName, filepath.Base(secretFile))
	}
	// A rotated Secret reaches tktgate only if it watches its files.
	if w, ok := b.cfg["watch"]; ok && w != true {
		t.Errorf("config.toml: watch = %v; a rotated Secret would need a restart", w)
	}

	// tktgate -check accepts the config, with its secret_file in place.
	dir := t.TempDir()
	testSecret := filepath.Join(dir, "secret")
	os.WriteFile(testSecret, []byte("k8s-test-secret\n"), 0o600)
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(b.config, secretFile, testSecret)), 0o644)
	if out, err := exec.Command(tktgateBinary(t), "-check", "-config", cfgPath).CombinedOutput(); err != nil {
		t.Errorf("tktgate -check on the ConfigMap's config.toml: %v\n%s", err, out)
	}
	if port := b.ports["http"]; b.cfgString("listen") != "0.0.0.0:"+port {
		t.Errorf("config.toml: listen = %q; want the container port http, 0.0.0.0:%s", b.cfgString("listen"), port)
	}
	checkIsolation(t, b, cfgPath)
}

// checkAvailability: enough replicas, a rolling update that starts a new
// pod before stopping an old one, a budget that leaves one serving
// through a drain, and a stop within the grace period: the preStop pause
// (while the endpoints catch up) and then shutdown_timeout for tktgate's
// drain, before the kubelet's SIGKILL.
func checkAvailability(t *testing.T, b *k8sBase) {
	t.Helper()
	spec := dig(b.dep, "spec")
	replicas, _ := dig(spec, "replicas").(float64)
	if replicas < 2 {
		t.Errorf("Deployment: %v replicas; want two or more", dig(spec, "replicas"))
	}
	ru := dig(spec, "strategy", "rollingUpdate")
	if dig(spec, "strategy", "type") != "RollingUpdate" || fmt.Sprint(dig(ru, "maxUnavailable")) != "0" {
		t.Errorf("Deployment: strategy %v; want RollingUpdate with maxUnavailable 0", dig(spec, "strategy"))
	}
	if s, _ := dig(ru, "maxSurge").(float64); s < 1 {
		t.Errorf("Deployment: maxSurge %v; with maxUnavailable 0 the rollout needs one or more", dig(ru, "maxSurge"))
	}
	maxUnavail, ok := dig(b.pdb, "spec", "maxUnavailable").(float64)
	if !ok || dig(b.pdb, "spec", "minAvailable") != nil || maxUnavail < 1 || replicas-maxUnavail < 1 {
		t.Errorf("PodDisruptionBudget: %v; want maxUnavailable (and not minAvailable), leaving one of %v replicas", dig(b.pdb, "spec"), replicas)
	}

	pause, _ := dig(b.c, "lifecycle", "preStop", "sleep", "seconds").(float64)
	if pause < 1 {
		t.Errorf("Deployment: preStop %v; want a sleep of a few seconds, for the endpoints to drop the pod before tktgate stops accepting", dig(b.c, "lifecycle"))
	}
	drain := 10 * time.Second // [limits] shutdown_timeout's default
	if s := b.cfgString("limits", "shutdown_timeout"); s != "" {
		var err error
		if drain, err = time.ParseDuration(s); err != nil {
			t.Fatalf("config.toml: shutdown_timeout %q: %v", s, err)
		}
	}
	grace, ok := dig(b.pod, "terminationGracePeriodSeconds").(float64)
	if !ok || time.Duration(grace)*time.Second <= time.Duration(pause)*time.Second+drain {
		t.Errorf("Deployment: terminationGracePeriodSeconds %v; want more than preStop's %vs plus shutdown_timeout %v", dig(b.pod, "terminationGracePeriodSeconds"), pause, drain)
	}
}

// TestKubernetesOverlays: each overlay is the base unchanged plus its
// Ingresses (and, cached, the controller's ConfigMap), every Ingress asks
// the base's Service on its auth port for a policy the config has, and the
// cached overlay caches what tktgate allows. The Traefik and Envoy
// examples use the same address.
func TestKubernetesOverlays(t *testing.T) {
	t.Parallel()
	b := renderBase(t)
	key := func(d map[string]any) string {
		return fmt.Sprintf("%v %v/%v", d["kind"], dig(d, "metadata", "namespace"), dig(d, "metadata", "name"))
	}
	base := map[string]map[string]any{}
	for _, d := range b.docs {
		base[key(d)] = d
	}
	svcAuth := b.authAddr(t)
	for dir, extra := range map[string][]string{
		"k8s/overlays/ingress-nginx":        {"Ingress app/app", "Ingress app/app-admin"},
		"k8s/overlays/ingress-nginx-cached": {"Ingress app/app", "Ingress app/app-admin", "ConfigMap ingress-nginx/ingress-nginx-controller"},
	} {
		docs := kustomize(t, dir)
		var got []string
		for _, d := range docs {
			if want, ok := base[key(d)]; !ok {
				got = append(got, key(d))
			} else if !reflect.DeepEqual(d, want) {
				t.Errorf("%s changes the base's %s", dir, key(d))
			}
		}
		sort.Strings(got)
		sort.Strings(extra)
		if len(docs)-len(got) != len(base) || fmt.Sprint(got) != fmt.Sprint(extra) {
			t.Errorf("%s: %d of the base's %d objects, and %v; want all and %v", dir, len(docs)-len(got), len(base), got, extra)
		}
		cached := strings.HasSuffix(dir, "-cached")
		if !cached {
			// What checkIngressRendering reads without kustomize.
			shipped := map[string]map[string]any{}
			for _, ing := range find(yamlDocs(t, dir+"/ingress.yaml"), "Ingress") {
				shipped[key(ing)] = ing
			}
			for _, ing := range find(docs, "Ingress") {
				if !reflect.DeepEqual(ing, shipped[key(ing)]) {
					t.Errorf("%s: %s is not as in its ingress.yaml", dir, key(ing))
				}
			}
		}
		for _, ing := range find(docs, "Ingress") {
			b.checkAuthURL(t, dir, annotation(ing, "auth-url"), svcAuth)
			if cached && (annotation(ing, "auth-cache-key") == "" || annotation(ing, "auth-cache-duration") == "") {
				t.Errorf("%s: Ingress %s has no auth-cache-key or auth-cache-duration", dir, dig(ing, "metadata", "name"))
			}
		}
	}
	// Without max_age tktgate tells nginx to cache nothing.
	if d, err := time.ParseDuration(b.cfgString("cache", "max_age")); err != nil || d < time.Second {
		t.Errorf("config.toml: [cache] max_age %q; the ingress-nginx-cached overlay caches nothing below 1s", b.cfgString("cache", "max_age"))
	}

	for _, mw := range find(yamlDocs(t, "k8s/traefik.yaml"), "Middleware") {
		if fa := dig(mw, "spec", "forwardAuth"); fa != nil {
			b.checkAuthURL(t, "k8s/traefik.yaml", str(dig(fa, "address")), svcAuth)
			// Traefik hands denials to the browser: they must be 302s.
			if !strings.HasSuffix(str(dig(fa, "address")), "?redirect=1") {
				t.Errorf("k8s/traefik.yaml: %q lacks ?redirect=1", str(dig(fa, "address")))
			}
			// Only the client headers tktgate reads: an empty or missing
			// list copies them all, a client's X-Original-URL (which
			// tktgate prefers to X-Forwarded-*) among them.
			if got := fmt.Sprint(dig(fa, "authRequestHeaders")); got != "[Cookie Traceparent X-Request-ID]" {
				t.Errorf("k8s/traefik.yaml: %s: authRequestHeaders %s, want [Cookie Traceparent X-Request-ID]", dig(mw, "metadata", "name"), got)
			}
			if dig(fa, "trustForwardHeader") != false || fmt.Sprint(dig(fa, "addAuthCookiesToResponse")) != "[auth_tkt]" {
				t.Errorf("k8s/traefik.yaml: %s trusts forwarded headers or loses refreshed cookies", dig(mw, "metadata", "name"))
			}
		}
	}
	envoy := yamlDocs(t, "k8s/envoy.yaml")
	if len(envoy) != 1 || fmt.Sprint(values(envoy, "uri")) != "[http://"+svcAuth+"]" || fmt.Sprint(values(envoy, "path_override")) != "[/auth]" {
		t.Errorf("k8s/envoy.yaml: ext_authz asks %v, path_override %v; want http://%s and /auth", values(envoy, "uri"), values(envoy, "path_override"), svcAuth)
	}
}

// values are the values of key anywhere in v.
func values(v any, key string) []any {
	var r []any
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == key {
				r = append(r, e)
			}
			r = append(r, values(e, key)...)
		}
	case []any:
		for _, e := range v {
			r = append(r, values(e, key)...)
		}
	case []map[string]any:
		for _, e := range v {
			r = append(r, values(e, key)...)
		}
	}
	return r
}

// authAddr is where a proxy asks tktgate: the Service's DNS name and its
// port that leads to the container's auth port (listen).
func (b *k8sBase) authAddr(t *testing.T) string {
	t.Helper()
	for i := 0; dig(b.svc, "spec", "ports", i) != nil; i++ {
		if p := dig(b.svc, "spec", "ports", i); b.number(dig(p, "targetPort")) == b.ports["http"] {
			return fmt.Sprintf("%s.%s.svc.cluster.local:%v", dig(b.svc, "metadata", "name"), dig(b.svc, "metadata", "namespace"), dig(p, "port"))
		}
	}
	t.Fatalf("the Service has no port for the container port http %s", b.ports["http"])
	return ""
}

// checkAuthURL: u asks addr for /auth or /auth/NAME of a policy of the
// config.
func (b *k8sBase) checkAuthURL(t *testing.T, file, u, addr string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Errorf("%s: auth address %q: %v", file, u, err)
		return
	}
	policy, _ := strings.CutPrefix(p.Path, "/auth/")
	_, known := dig(b.cfg, "policy", policy).(map[string]any)
	if p.Scheme != "http" || p.Host != addr || p.Path != "/auth" && !known {
		t.Errorf("%s: auth address %q; want http://%s/auth or /auth/NAME of a policy of config.toml %v", file, u, addr, dig(b.cfg, "policy"))
	}
}

// The secretGenerator that secret.example.yaml shows for an overlay of
// one's own makes the Secret the Deployment mounts, under its fixed name,
// with the key config.toml reads.
func TestKubernetesSecretGenerator(t *testing.T) {
	t.Parallel()
	b := renderBase(t)
	example, err := os.ReadFile("k8s/secret.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The commented block from "#   secretGenerator:" to the next "#".
	_, rest, ok := strings.Cut(string(example), "\n#   secretGenerator:\n")
	block, _, _ := strings.Cut(rest, "\n#\n")
	if !ok {
		t.Fatal("k8s/secret.example.yaml shows no secretGenerator")
	}
	gen := "secretGenerator:\n"
	for _, line := range strings.Split(block, "\n") {
		gen += strings.TrimPrefix(line, "#   ") + "\n"
	}
	// An overlay beside a copy of k8s/ (kustomize takes no absolute path).
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "k8s"), os.DirFS("k8s")); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine")
	os.Mkdir(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "kustomization.yaml"), []byte("resources:\n  - ../k8s/overlays/ingress-nginx\n"+gen), 0o644)
	os.WriteFile(filepath.Join(mine, "TKTAuthSecret.txt"), []byte("not-a-real-secret\n"), 0o600)
	secrets := find(kustomize(t, mine), "Secret")
	key := filepath.Base(b.cfgString("ticket", "secret_file"))
	var made []string // namespace/name[keys], never the values
	for _, s := range secrets {
		data, _ := dig(s, "data").(map[string]any)
		made = append(made, fmt.Sprintf("%v/%v%v", dig(s, "metadata", "namespace"), dig(s, "metadata", "name"), slices.Sorted(maps.Keys(data))))
	}
	if len(secrets) != 1 || dig(secrets[0], "metadata", "name") != b.secretName || dig(secrets[0], "metadata", "namespace") != "tktgate" ||
		dig(secrets[0], "data", key) != base64.StdEncoding.EncodeToString([]byte("not-a-real-secret\n")) {
		t.Errorf("secret.example.yaml's secretGenerator makes %v; want the Secret tktgate/%s holding the file under the key %s", made, b.secretName, key)
	}
}

// What ingress-nginx generates for the Ingresses of the overlay
// k8s/overlays/ingress-nginx (the shipped k8s/ingress-nginx.conf) on the real nginx, with the controller's
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
// the annotations of the overlay k8s/overlays/ingress-nginx, named as the
// controller names things (internal/ingress/controller/template/
// template.go). The overlay's ingress.yaml, read without kustomize, which
// adds nothing to it: TestKubernetesOverlays checks the rendering.
func checkIngressRendering(t *testing.T, conf string) {
	t.Helper()
	for _, ing := range find(yamlDocs(t, "k8s/overlays/ingress-nginx/ingress.yaml"), "Ingress") {
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

// TestIngressNginxCached runs what the controller makes of the overlay
// k8s/overlays/ingress-nginx-cached: ingress-nginx.conf plus, per its
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
	plainIngs := find(kustomize(t, "k8s/overlays/ingress-nginx"), "Ingress")
	cached := kustomize(t, "k8s/overlays/ingress-nginx-cached")
	ings := find(cached, "Ingress")
	if len(ings) != len(plainIngs) || len(ings) == 0 {
		t.Fatalf("the ingress-nginx-cached overlay has %d Ingresses, ingress-nginx %d", len(ings), len(plainIngs))
	}
	dir := t.TempDir()
	lua := filepath.Join(dir, "ngx_conf_rewrite_auth.lua")
	// The controller's file (rootfs/etc/nginx/lua/nginx/), verbatim.
	if err := os.WriteFile(lua, []byte("ngx.var.cache_key = ngx.encode_base64(ngx.sha1_bin(ngx.var.tmp_cache_key))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var cms []map[string]any
	for _, cm := range find(cached, "ConfigMap") {
		if dig(cm, "metadata", "namespace") == "ingress-nginx" {
			cms = append(cms, cm)
		}
	}
	if len(cms) != 1 || dig(cms[0], "metadata", "name") != "ingress-nginx-controller" {
		t.Fatalf("the ingress-nginx-cached overlay has %d ConfigMaps in ingress-nginx; want the controller's, ingress-nginx-controller", len(cms))
	}
	text := str(dig(cms[0], "data", "http-snippet")) + "proxy_cache_path " + filepath.Join(dir, "nginx-cache-auth") + " levels=1:2 keys_zone=auth_cache:10m max_size=128m inactive=30m use_temp_path=off;\n" + string(conf)
	for i, ing := range ings {
		ann := func(name string) string { return annotation(ing, name) }
		// The same objects as the plain overlay's but for the cache.
		for k, v := range dig(plainIngs[i], "metadata", "annotations").(map[string]any) {
			if got := ann(strings.TrimPrefix(k, "nginx.ingress.kubernetes.io/")); got != v {
				t.Errorf("Ingress %d: %s is %q cached, %q in the plain overlay", i, k, got, v)
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
// test secret, which this runs, and asks what the probes ask.
func checkIsolation(t *testing.T, b *k8sBase, cfgPath string) {
	t.Helper()
	np := b.np
	auth, metrics := b.ports["http"], b.ports["metrics"]
	if auth == "" || metrics == "" || auth == metrics {
		t.Errorf("Deployment: container ports %v; want http (auth) and metrics apart", b.ports)
		return
	}
	if ml := b.cfgString("metrics_listen"); ml != "0.0.0.0:"+metrics {
		t.Errorf("config.toml: metrics_listen = %q; want the container port metrics, 0.0.0.0:%s", ml, metrics)
	}
	var svcMetrics bool
	for i := 0; dig(b.svc, "spec", "ports", i) != nil; i++ {
		svcMetrics = svcMetrics || b.number(dig(b.svc, "spec", "ports", i, "targetPort")) == metrics
	}
	if !svcMetrics {
		t.Errorf("the Service has no port for the metrics port %s", metrics)
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
			rulePorts = append(rulePorts, b.number(dig(rule, "ports", j, "port")))
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

	// The config as it runs: /metrics on its own port only, and the
	// probes' paths answered 200 on their ports.
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	listen, metricsListen := freeAddr(t), freeAddr(t)
	run := strings.Replace(string(cfg), `listen = "`+b.cfgString("listen")+`"`, `listen = "`+listen+`"`, 1)
	run = strings.Replace(run, `metrics_listen = "`+b.cfgString("metrics_listen")+`"`, `metrics_listen = "`+metricsListen+`"`, 1)
	// The ports the config has, where the test runs it.
	addrs := map[string]string{} // container port -> test address
	for cfgAddr, test := range map[string]string{b.cfgString("listen"): listen, b.cfgString("metrics_listen"): metricsListen} {
		if port, ok := strings.CutPrefix(cfgAddr, "0.0.0.0:"); ok {
			addrs[port] = test
		}
	}
	startTktgate(t, listen, run)
	get := func(addr, path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	for addr, want := range map[string]int{listen: 404, metricsListen: 200} {
		if code, body := get(addr, "/metrics"); code != want || want == 200 && !strings.Contains(body, "tktgate_") {
			t.Errorf("GET http://%s/metrics: %d %.60q; want %d", addr, code, body, want)
		}
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		g := dig(b.c, probe, "httpGet")
		addr, ok := addrs[b.number(dig(g, "port"))]
		if !ok {
			t.Errorf("Deployment: %s on port %v, where tktgate does not listen", probe, dig(g, "port"))
			continue
		}
		if code, body := get(addr, str(dig(g, "path"))); code != 200 {
			t.Errorf("Deployment: %s GET %v on port %v: %d %q; want 200", probe, dig(g, "path"), dig(g, "port"), code, body)
		}
	}
}
