// Package envconfig loads a service's configuration from environment variables into a struct
// with `env` tags (github.com/caarlos0/env), and describes it for the startup log. Fields of
// type secret.Secret are masked when the configuration is logged.
//
// A variable that is not set leaves its field as it was, so a service fills its defaults into
// the struct before loading (its Config.WithDefaults). A field's `envDeprecated` tag names an
// older variable that still sets it for one release, when its own is not set; Deprecated lists
// the ones an environment uses, for a warning.
package envconfig

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Load fills cfg (a pointer to a struct) from the process environment.
func Load(cfg any) error { return LoadFrom(cfg, nil) }

// LoadFrom fills cfg from environ (variable name to value); a nil environ means the process
// environment. Tests pass their own environment here.
func LoadFrom(cfg any, environ map[string]string) error {
	if environ == nil {
		environ = env.ToMap(os.Environ())
	}
	if used := Deprecated(cfg, environ); len(used) > 0 {
		environ = maps.Clone(environ)
		for _, d := range used {
			environ[d.Name] = environ[d.Deprecated]
		}
	}
	if err := env.ParseWithOptions(cfg, env.Options{Environment: environ}); err != nil {
		return fmt.Errorf("configuration: %s", describe(cfg, err))
	}
	return nil
}

// Alias is a deprecated variable that environ sets in place of the variable that replaced it.
type Alias struct {
	// Deprecated is the older name, Name the one to use.
	Deprecated, Name string
}

// Deprecated lists the deprecated variables (`envDeprecated` tags) that environ sets for cfg's
// fields whose own variable it does not set; a nil environ means the process environment.
func Deprecated(cfg any, environ map[string]string) []Alias {
	if environ == nil {
		environ = env.ToMap(os.Environ())
	}
	var out []Alias
	walkFields(reflect.TypeOf(cfg), func(f reflect.StructField) {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		old := f.Tag.Get("envDeprecated")
		if name == "" || old == "" || environ[name] != "" || environ[old] == "" {
			return
		}
		out = append(out, Alias{Deprecated: old, Name: name})
	})
	return out
}

// walkFields calls fn for every field of the struct t (or *t) and of the structs nested in it
// without a variable of their own.
func walkFields(t reflect.Type, fn func(reflect.StructField)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if _, own := f.Tag.Lookup("env"); !own && f.Type.Kind() == reflect.Struct {
			walkFields(f.Type, fn)
			continue
		}
		fn(f)
	}
}

// describe rewrites parse errors to name the environment variable, which is what the operator
// sets, rather than the Go field.
func describe(cfg any, err error) string {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err.Error()
	}
	t := reflect.TypeOf(cfg)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var msgs []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				msgs = append(msgs, fmt.Sprintf("%s: %v", name, pe.Err))
				continue
			}
		}
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

// Values describes cfg (a struct or a pointer to one) for the startup log as the operator
// writes it: each environment variable's value as text (durations as "20s", lists joined with
// ","), secrets masked by their type.
func Values(cfg any) map[string]string {
	out := map[string]string{}
	values(reflect.Indirect(reflect.ValueOf(cfg)), out)
	return out
}

func values(v reflect.Value, out map[string]string) {
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" {
			values(reflect.Indirect(fv), out)
			continue
		}
		out[name] = text(fv)
	}
}

// text writes one value: its String method if it has one (durations, secrets), each element
// of a list, or its default format.
func text(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = text(v.Index(i))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}
