package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMergeOpenAPI: the merge keeps what the documents declare for all (security, basePath,
// shared responses), joins their paths, definitions and tags, and refuses documents that
// disagree; the served document names the host it was asked at.
func TestMergeOpenAPI(t *testing.T) {
	t.Parallel()
	doc := func(path, def string, extra string) []byte {
		return []byte(`{"swagger":"2.0","info":{"title":"x","version":"v1"},"basePath":"/",` +
			`"securityDefinitions":{"bearer":{"type":"apiKey","in":"header","name":"Authorization"}},` +
			`"security":[{"bearer":[]}],"responses":{"NotFound":{"description":"gone"}},` +
			`"tags":[{"name":"` + def + `"}],"paths":{"` + path + `":{}},"definitions":{"` + def + `":{"type":"object"},"rpcStatus":{"type":"object"}}` + extra + `}`)
	}
	got, err := mergeOpenAPI("posimport", [][]byte{doc("/a", "A", ""), doc("/b", "B", "")})
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(`{"swagger":"2.0","info":{"title":"posimport","version":"v1"},"basePath":"/",
		"securityDefinitions":{"bearer":{"type":"apiKey","in":"header","name":"Authorization"}},
		"security":[{"bearer":[]}],"responses":{"NotFound":{"description":"gone"}},
		"tags":[{"name":"A"},{"name":"B"}],"paths":{"/a":{},"/b":{}},
		"definitions":{"A":{"type":"object"},"B":{"type":"object"},"rpcStatus":{"type":"object"}}}`), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}

	for name, docs := range map[string][][]byte{
		"basePath":    {doc("/a", "A", ""), []byte(`{"basePath":"/v2"}`)},
		"definitions": {doc("/a", "A", ""), doc("/b", "B", `,"x-":1`), []byte(`{"definitions":{"A":{"type":"string"}}}`)},
		"paths":       {doc("/a", "A", ""), []byte(`{"paths":{"/a":{"get":{}}}}`)},
	} {
		if _, err := mergeOpenAPI("posimport", docs); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming it", name, err)
		}
	}

	rec := httptest.NewRecorder()
	openAPIHandler(got).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://api.example:8080/openapi.json", nil))
	var served map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil || served["host"] != "api.example:8080" || served["basePath"] != "/" {
		t.Errorf("served host %v, basePath %v (%v)", served["host"], served["basePath"], err)
	}
	if _, ok := got["host"]; ok {
		t.Error("serving changed the merged document")
	}
}
