package check_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/posimport/posimport/deploy/internal/cnpgv1"
)

// overlays are the environments deploy/k8s renders, with the namespace each must land in.
var overlays = map[string]string{"dev": "posimport-dev", "production": "posimport"}

// services are the four deployable services (the posimport all-in-one binary is for laptops).
var services = []string{"config", "auth", "balance", "import-worker"}

// kinds maps apiVersion/kind to the type a rendered object must decode into.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &kedav1alpha1.ScaledObject{} },
	"postgresql.cnpg.io/v1/Cluster":           func() any { return &cnpgv1.Cluster{} },
}

// object is one rendered object, decoded.
type object struct {
	kind, name, namespace string
	value                 any
}

// rendered is an overlay's output.
type rendered struct {
	overlay   string
	namespace string
	objects   []object
}

// renderOnce renders each overlay once per test binary; the tests only read the result.
var renderOnce = map[string]func() (*rendered, error){
	"dev":        sync.OnceValues(func() (*rendered, error) { return render("dev") }),
	"production": sync.OnceValues(func() (*rendered, error) { return render("production") }),
}

// repoRoot is the repository's top directory (this package is deploy/check).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// overlay renders an overlay once per test binary and fails the test if it does not render or
// an object does not decode strictly.
func overlay(t testing.TB, name string) *rendered {
	t.Helper()
	r, err := renderOnce[name]()
	if err != nil {
		t.Fatalf("overlay %s: %v", name, err)
	}
	return r
}

func render(name string) (*rendered, error) {
	dir, err := filepath.Abs(filepath.Join("..", "k8s", name))
	if err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	r := &rendered{overlay: name, namespace: overlays[name]}
	for _, res := range m.Resources() {
		raw, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		key := res.GetApiVersion() + "/" + res.GetKind()
		newValue, ok := kinds[key]
		if !ok {
			return nil, fmt.Errorf("%s %s: no type known for %s", res.GetKind(), res.GetName(), key)
		}
		v := newValue()
		if err := decodeStrict(raw, v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", res.GetKind(), res.GetName(), err)
		}
		r.objects = append(r.objects, object{kind: res.GetKind(), name: res.GetName(), namespace: res.GetNamespace(), value: v})
	}
	return r, nil
}

// decodeStrict rejects unknown and duplicate fields and case-insensitive matches, as the API
// server's strict field validation does.
func decodeStrict(raw []byte, v any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(raw, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("strict decoding: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// all returns the overlay's objects of type T.
func all[T any](r *rendered) []*T {
	var out []*T
	for _, o := range r.objects {
		if v, ok := o.value.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named returns the object of type T with the name, or fails.
func named[T any](t testing.TB, r *rendered, name string) *T {
	t.Helper()
	for _, o := range r.objects {
		if v, ok := o.value.(*T); ok && o.name == name {
			return v
		}
	}
	var zero T
	t.Fatalf("overlay %s: no %T named %q", r.overlay, zero, name)
	return nil
}

// env returns a container's environment: literal values, the keys of its envFrom ConfigMaps
// (with their values) and, for references, "secret:NAME/KEY" or "configmap:NAME/KEY".
func env(t testing.TB, r *rendered, c corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than a ConfigMap", c.Name)
		}
		for k, v := range named[corev1.ConfigMap](t, r, from.ConfigMapRef.Name).Data {
			out[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom.ConfigMapKeyRef != nil:
			out[e.Name] = "configmap:" + e.ValueFrom.ConfigMapKeyRef.Name + "/" + e.ValueFrom.ConfigMapKeyRef.Key
		default:
			out[e.Name] = "field"
		}
	}
	return out
}

// serviceEnv returns the variables a service reads: the env struct tags of its module and of
// pkg/platform (the common configuration).
func serviceEnv(t testing.TB, service string) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	out := map[string]bool{}
	for _, dir := range []string{filepath.Join(root, "services", service), filepath.Join(root, "pkg", "platform")} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				field, ok := n.(*ast.Field)
				if !ok || field.Tag == nil {
					return true
				}
				tag, err := strconv.Unquote(field.Tag.Value)
				if err != nil {
					return true
				}
				name, ok := reflect.StructTag(tag).Lookup("env")
				if !ok {
					return true
				}
				name, _, _ = strings.Cut(name, ",")
				out[name] = true
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatalf("scan %s: %v", dir, err)
		}
	}
	return out
}

// goConst returns the value of a string or integer constant declared in a package directory.
func goConst(t testing.TB, dir, name string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if id.Name != name || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					switch {
					case ok && lit.Kind == token.STRING:
						v, _ := strconv.Unquote(lit.Value)
						return v
					case ok && lit.Kind == token.INT:
						return lit.Value
					}
				}
			}
		}
	}
	t.Fatalf("no string or integer constant %s in %s", name, dir)
	return ""
}

// readJSON decodes a JSON file strictly.
func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
