// Package logtest reads log output the way log pipelines do, for tests: one JSON object a
// line, each key once at every depth (Elasticsearch and encoding/json/v2 refuse a line that
// repeats a key; encoding/json would keep the last value without a word).
package logtest

import (
	"bytes"
	"fmt"

	"github.com/go-json-experiment/json"
)

// Line is one decoded log line.
type Line map[string]any

// String returns the line's field key as a string, or "" when absent or not a string.
func (l Line) String(key string) string {
	s, _ := l[key].(string)
	return s
}

// Parse decodes every non-empty line of logs with encoding/json/v2 semantics, which refuse
// duplicate keys. The errors name the line (from 1) and what is wrong with it.
func Parse(logs []byte) ([]Line, []error) {
	var (
		lines []Line
		errs  []error
	)
	for i, raw := range bytes.Split(logs, []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l Line
		if err := json.Unmarshal(raw, &l); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w: %s", i+1, err, raw))
			continue
		}
		lines = append(lines, l)
	}
	return lines, errs
}
