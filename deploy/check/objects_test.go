package check_test

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestOverlaysRender renders every overlay and decodes every object strictly (overlay does);
// each object lands in the overlay's namespace and every kind the stack needs is there.
func TestOverlaysRender(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			counts := map[string]int{}
			for _, o := range r.objects {
				counts[o.kind]++
				if o.namespace != r.namespace {
					t.Errorf("%s %s: namespace %q, want %q", o.kind, o.name, o.namespace, r.namespace)
				}
			}
			want := map[string]int{
				"Deployment": 4, "Service": 4, "ServiceAccount": 4, "PodDisruptionBudget": 4,
				"ServiceMonitor": 4, "ConfigMap": 5, "NetworkPolicy": 7, "Ingress": 1,
				"ScaledObject": 1, "Cluster": 1, "PodMonitor": 1, "PrometheusRule": 1,
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("objects by kind (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImagesHaveDockerfiles: every image a Deployment runs is built by deploy/docker/<name>/
// Dockerfile, a multi-stage static, non-root build of services/<name> (a main package) with the
// zone database embedded; no Dockerfile is left unused.
func TestImagesHaveDockerfiles(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	used := map[string]bool{}
	for name := range overlays {
		for _, d := range all[appsv1.Deployment](overlay(t, name)) {
			for _, c := range d.Spec.Template.Spec.Containers {
				repo, tag, _ := strings.Cut(c.Image, ":")
				svc := repo[strings.LastIndex(repo, "/")+1:]
				if !strings.HasSuffix(repo, "posimport/"+svc) || tag == "" || tag == "latest" {
					t.Errorf("%s: deployment %s runs %q: want <registry>/posimport/<service>:<pinned tag>", name, d.Name, c.Image)
				}
				if svc != d.Name {
					t.Errorf("%s: deployment %s runs the image of %s", name, d.Name, svc)
				}
				used[svc] = true
			}
		}
	}
	for svc := range used {
		checkDockerfile(t, root, svc)
	}
	dirs, err := os.ReadDir(filepath.Join(root, "deploy", "docker"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !used[d.Name()] {
			t.Errorf("deploy/docker/%s: no Deployment runs this image", d.Name())
		}
	}
	if diff := cmp.Diff(services, sortedKeys(used), cmp.Transformer("sort", sortStrings)); diff != "" {
		t.Errorf("services with an image (-want +got):\n%s", diff)
	}
}

func checkDockerfile(t *testing.T, root, svc string) {
	t.Helper()
	path := filepath.Join(root, "deploy", "docker", svc, "Dockerfile")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("image posimport/%s: %v", svc, err)
		return
	}
	text := string(b)
	stages := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(text, -1)
	if len(stages) < 2 {
		t.Errorf("%s: want a multi-stage build, got %d FROM", path, len(stages))
		return
	}
	if final := stages[len(stages)-1][1]; !strings.Contains(final, "distroless/static") {
		t.Errorf("%s: final stage %s: want a distroless static base (no libc, no shell)", path, final)
	}
	build := regexp.MustCompile(`go build ([^\n]*)`).FindStringSubmatch(text)
	if build == nil {
		t.Errorf("%s: no go build", path)
		return
	}
	for _, want := range []string{"-trimpath", "-tags timetzdata", "./services/" + svc} {
		if !strings.Contains(build[1], want) {
			t.Errorf("%s: go build %s: missing %q", path, build[1], want)
		}
	}
	if !strings.Contains(text, "CGO_ENABLED=0") {
		t.Errorf("%s: want CGO_ENABLED=0 (a static binary)", path)
	}
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(text, -1)
	if len(user) == 0 || strings.HasPrefix(user[len(user)-1][1], "0") || strings.HasPrefix(user[len(user)-1][1], "root") {
		t.Errorf("%s: the final stage must run as a non-root numeric USER", path)
	}
	main, err := os.ReadFile(filepath.Join(root, "services", svc, "main.go"))
	if err != nil {
		t.Errorf("%s builds ./services/%s: %v", path, svc, err)
		return
	}
	if !regexp.MustCompile(`(?m)^package main$`).Match(main) {
		t.Errorf("services/%s/main.go is not package main", svc)
	}
}

// TestDeploymentsAreOperable: probes on /healthz and /readyz, requests and limits, a locked
// down container, a grace period that covers the shutdown, and the objects around each
// Deployment (ServiceAccount, Service, PDB, ServiceMonitor, NetworkPolicy) selecting its pods.
func TestDeploymentsAreOperable(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		r := overlay(t, name)
		for _, d := range all[appsv1.Deployment](r) {
			t.Run(name+"/"+d.Name, func(t *testing.T) {
				t.Parallel()
				checkDeployment(t, r, d)
			})
		}
	}
}

func checkDeployment(t *testing.T, r *rendered, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Fatalf("selector %v does not select the pod template's labels %v", d.Spec.Selector, pod.Labels)
	}
	spec := pod.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if diff := cmp.Diff(map[string]int32{"http": 8080, "grpc": 9090}, ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}
	probe := func(kind string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want GET %s", kind, path)
			return
		}
		if p.HTTPGet.Path != path || ports[p.HTTPGet.Port.String()] != 8080 {
			t.Errorf("%s probe: GET %s on %s, want %s on the http port", kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("startup", c.StartupProbe, "/healthz")
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: request %s, limit %s: want both, request <= limit", res, req.String(), lim.String())
		}
	}
	sc, psc := c.SecurityContext, spec.SecurityContext
	if sc == nil || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("want runAsNonRoot with a non-zero uid, a read-only root, no privilege escalation, all capabilities dropped")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("the services never call the Kubernetes API: automountServiceAccountToken must be false")
	}
	named[corev1.ServiceAccount](t, r, spec.ServiceAccountName)

	// SIGTERM: preStop, then SHUTDOWN_TIMEOUT for in-flight work, then up to 10s of NATS drain.
	e := env(t, r, c)
	shutdown := 20 * time.Second
	if v, ok := e["SHUTDOWN_TIMEOUT"]; ok {
		if shutdown, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SHUTDOWN_TIMEOUT=%q: %v", v, err)
		}
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	need := preStop + shutdown + 10*time.Second
	if spec.TerminationGracePeriodSeconds == nil || time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds must cover preStop %v + SHUTDOWN_TIMEOUT %v + 10s drain = %v", preStop, shutdown, need)
	}

	selects := func(s *metav1.LabelSelector) bool {
		ls, err := metav1.LabelSelectorAsSelector(s)
		return err == nil && !ls.Empty() && ls.Matches(labels.Set(pod.Labels))
	}
	var svc *corev1.Service
	for _, s := range all[corev1.Service](r) {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			svc = s
		}
	}
	if svc == nil {
		t.Fatalf("no Service selects the pods")
	}
	found := map[string]bool{}
	for _, p := range all[policyv1.PodDisruptionBudget](r) {
		found["PodDisruptionBudget"] = found["PodDisruptionBudget"] || selects(p.Spec.Selector)
	}
	for _, m := range all[monitoringv1.ServiceMonitor](r) {
		ls, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
		if err == nil && !ls.Empty() && ls.Matches(labels.Set(svc.Labels)) {
			found["ServiceMonitor"] = slices.ContainsFunc(m.Spec.Endpoints, func(e monitoringv1.Endpoint) bool {
				return e.Port == "http" && e.Path == "/metrics"
			})
		}
	}
	for _, p := range all[networkingv1.NetworkPolicy](r) {
		found["NetworkPolicy"] = found["NetworkPolicy"] || (selects(&p.Spec.PodSelector) && len(p.Spec.Ingress) > 0)
	}
	if diff := cmp.Diff(map[string]bool{"PodDisruptionBudget": true, "ServiceMonitor": true, "NetworkPolicy": true}, found); diff != "" {
		t.Errorf("objects covering the Deployment (-want +got):\n%s", diff)
	}
}

// runtimeEnv are variables read by the Go runtime or by pgx (libpq's PG* variables), not by
// the services' Config structs.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true, "PGUSER": true, "PGPASSWORD": true}

// requestedEnv are variables the manifests set that a service does not read yet; each is asked
// of its owners (deploy/README.md, "Open requests"). Remove an entry when the service reads it.
// None is open now.
var requestedEnv = map[string]map[string]bool{}

// TestEnvironmentIsRead: every variable a Deployment sets is one its service reads (a typo
// here would silently leave the default), and the required ones are set.
func TestEnvironmentIsRead(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		r := overlay(t, name)
		for _, d := range all[appsv1.Deployment](r) {
			t.Run(name+"/"+d.Name, func(t *testing.T) {
				t.Parallel()
				known := serviceEnv(t, d.Name)
				for k := range env(t, r, d.Spec.Template.Spec.Containers[0]) {
					if _, ok := known[k]; !ok && !runtimeEnv[k] && !requestedEnv[d.Name][k] {
						t.Errorf("%s is not read by %s (no env tag in services/%s or pkg/platform)", k, d.Name, d.Name)
					}
				}
				e := env(t, r, d.Spec.Template.Spec.Containers[0])
				for _, k := range []string{"DATABASE_URL", "JWT_SIGNING_KEY", "JWT_APP_ISSUER", "JWT_APP_KEYS", "JWT_SERVICE_KEYS", "PGUSER", "PGPASSWORD"} {
					if _, ok := e[k]; !ok {
						t.Errorf("%s is not set", k)
					}
				}
				// The retired variables trusted any key for any identity; a service refuses to
				// start with them.
				for _, k := range []string{"JWT_PUBLIC_KEYS", "JWT_ISSUERS"} {
					if _, ok := e[k]; ok {
						t.Errorf("%s is retired: set JWT_APP_ISSUER, JWT_APP_KEYS and JWT_SERVICE_KEYS", k)
					}
				}
			})
		}
	}
}

// secretish names a variable whose value is a secret.
var secretish = regexp.MustCompile(`SECRET|PASSWORD|TOKEN_KEYS|SIGNING_KEY|CLIENT_ID`)

// TestSecretsByReference: no Secret is rendered, secret variables come from secretKeyRef, no
// ConfigMap holds one, no URL carries credentials, and the Secrets operators must create are
// exactly the documented ones.
func TestSecretsByReference(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			refs := map[string]bool{}
			for _, d := range all[appsv1.Deployment](r) {
				for k, v := range env(t, r, d.Spec.Template.Spec.Containers[0]) {
					if secretish.MatchString(k) && !strings.HasPrefix(v, "secret:") {
						t.Errorf("%s: %s must come from a secretKeyRef, got %q", d.Name, k, v)
					}
					if ref, ok := strings.CutPrefix(v, "secret:"); ok {
						refs[strings.Split(ref, "/")[0]] = true
					}
					if u, err := url.Parse(v); err == nil && u.User != nil {
						if _, hasPassword := u.User.Password(); hasPassword {
							t.Errorf("%s: %s carries a password in its URL", d.Name, k)
						}
					}
				}
				for _, v := range d.Spec.Template.Spec.Volumes {
					if v.Secret != nil {
						refs[v.Secret.SecretName] = true
					}
				}
			}
			for _, cm := range all[corev1.ConfigMap](r) {
				for k := range cm.Data {
					if secretish.MatchString(k) {
						t.Errorf("ConfigMap %s holds %s", cm.Name, k)
					}
				}
			}
			for _, ing := range all[networkingv1.Ingress](r) {
				for _, tls := range ing.Spec.TLS {
					refs[tls.SecretName] = true
				}
			}
			want := []string{
				"posimport-auth-db", "posimport-auth-jwt", "posimport-auth-lightspeed", "posimport-auth-token-keys",
				"posimport-balance-db", "posimport-balance-jwt", "posimport-config-db", "posimport-config-jwt",
				"posimport-db-ca", "posimport-import-worker-db", "posimport-import-worker-jwt",
			}
			if name == "production" {
				want = append(want, "posimport-callback-tls")
			}
			if diff := cmp.Diff(want, sortedKeys(refs), cmp.Transformer("sort", sortStrings)); diff != "" {
				t.Errorf("Secrets referenced (-want +got); keep deploy/README.md's table in step:\n%s", diff)
			}
		})
	}
}

// TestCallbackIngress: the public route is exactly OAUTH_CALLBACK_URL's host and path, to
// auth's HTTP port.
func TestCallbackIngress(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			d := named[appsv1.Deployment](t, r, "auth")
			u, err := url.Parse(env(t, r, d.Spec.Template.Spec.Containers[0])["OAUTH_CALLBACK_URL"])
			if err != nil || u.Scheme != "https" {
				t.Fatalf("OAUTH_CALLBACK_URL %v: want an https URL (%v)", u, err)
			}
			ing := named[networkingv1.Ingress](t, r, "auth-callback")
			type route struct{ Host, Path, Service, Port string }
			var got []route
			for _, rule := range ing.Spec.Rules {
				for _, p := range rule.HTTP.Paths {
					got = append(got, route{rule.Host, p.Path, p.Backend.Service.Name, p.Backend.Service.Port.Name})
				}
			}
			if diff := cmp.Diff([]route{{u.Host, u.Path, "auth", "http"}}, got); diff != "" {
				t.Errorf("ingress routes (-want +got):\n%s", diff)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortStrings(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return out
}
