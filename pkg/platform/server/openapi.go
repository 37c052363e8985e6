package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
)

// mergeOpenAPI joins the OpenAPI (Swagger 2.0) documents of the services a process serves into
// one, under title: the union of their paths, definitions, shared responses and parameters,
// and security definitions; their tags in order; and what must be the same in all of them
// (basePath, the global security, schemes, consumes, produces), which a document that differs
// makes an error, as does one path or name that two documents describe differently.
func mergeOpenAPI(title string, docs [][]byte) (map[string]any, error) {
	merged := map[string]any{"swagger": "2.0", "info": map[string]any{"title": title, "version": "v1"}, "paths": map[string]any{}}
	var tags []any
	for i, d := range docs {
		var doc map[string]any
		if err := json.Unmarshal(d, &doc); err != nil {
			return nil, fmt.Errorf("server: openapi document: %w", err)
		}
		if len(docs) == 1 {
			return doc, nil
		}
		for key, v := range doc {
			switch key {
			case "info":
				if info, _ := v.(map[string]any); i == 0 && info["version"] != nil {
					merged[key] = map[string]any{"title": title, "version": info["version"]}
				}
			case "tags":
				t, _ := v.([]any)
				tags = append(tags, t...)
			case "paths", "definitions", "responses", "parameters", "securityDefinitions":
				if err := union(merged, key, v); err != nil {
					return nil, err
				}
			default:
				if prev, ok := merged[key]; ok && !reflect.DeepEqual(prev, v) {
					return nil, fmt.Errorf("server: openapi documents differ in %s", key)
				}
				merged[key] = v
			}
		}
	}
	if len(tags) > 0 {
		merged["tags"] = tags
	}
	return merged, nil
}

// union adds the entries of the object v to merged[key].
func union(merged map[string]any, key string, v any) error {
	m, _ := v.(map[string]any)
	into, _ := merged[key].(map[string]any)
	if into == nil {
		into = map[string]any{}
		merged[key] = into
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if prev, ok := into[name]; ok && !reflect.DeepEqual(prev, m[name]) {
			return fmt.Errorf("server: openapi documents describe %s %q differently", key, name)
		}
		into[name] = m[name]
	}
	return nil
}

// MergeOpenAPI returns the document a server named title serves at /openapi.json when its
// services registered docs, in that order, apart from the host, which each answer takes from
// its request.
func MergeOpenAPI(title string, docs ...[]byte) ([]byte, error) {
	doc, err := mergeOpenAPI(title, docs)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
}

// openAPIHandler serves doc with its host set to the one the request named, so that a
// client generated from the downloaded document calls the server it came from.
func openAPIHandler(doc map[string]any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served := make(map[string]any, len(doc)+1)
		for k, v := range doc {
			served[k] = v
		}
		if r.Host != "" {
			served["host"] = r.Host
		}
		b, err := json.MarshalIndent(served, "", "  ")
		if err != nil {
			http.Error(w, "openapi document: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
}
