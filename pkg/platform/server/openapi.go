package server

import (
	"encoding/json"
	"fmt"
)

// mergeOpenAPI joins the OpenAPI (Swagger 2.0) documents of the services a process serves into
// one: the union of their paths and definitions, under one title.
func mergeOpenAPI(title string, docs [][]byte) ([]byte, error) {
	if len(docs) == 1 {
		return docs[0], nil
	}
	merged := map[string]any{
		"swagger":     "2.0",
		"info":        map[string]any{"title": title, "version": "v1"},
		"consumes":    []string{"application/json"},
		"produces":    []string{"application/json"},
		"paths":       map[string]any{},
		"definitions": map[string]any{},
	}
	var tags []any
	for _, d := range docs {
		var doc map[string]any
		if err := json.Unmarshal(d, &doc); err != nil {
			return nil, fmt.Errorf("server: openapi document: %w", err)
		}
		for _, key := range []string{"paths", "definitions"} {
			if m, ok := doc[key].(map[string]any); ok {
				for k, v := range m {
					merged[key].(map[string]any)[k] = v
				}
			}
		}
		if t, ok := doc["tags"].([]any); ok {
			tags = append(tags, t...)
		}
	}
	merged["tags"] = tags
	return json.MarshalIndent(merged, "", "  ")
}
