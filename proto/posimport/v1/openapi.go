package posimportv1

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
)

//go:embed *.swagger.json
var openAPIFiles embed.FS

// OpenAPI returns the OpenAPI (Swagger 2.0) document of one proto file of this package, e.g.
// OpenAPI("config") for config.proto; services serve it at /openapi.json. It is the generated
// document completed with what holds for every service alike and would otherwise be repeated
// in each proto file (see complete): the bearer JWT every call needs, and the error answers
// of the gateway with their google.rpc.Status and google.rpc.BadRequest bodies.
func OpenAPI(file string) ([]byte, error) {
	b, err := openAPIFiles.ReadFile(file + ".swagger.json")
	if err != nil {
		return nil, fmt.Errorf("openapi document %q: %w", file, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("openapi document %q: %w", file, err)
	}
	complete(doc, file)
	return json.MarshalIndent(doc, "", "  ")
}

// SecurityScheme is the name of the bearer JWT scheme in the documents.
const SecurityScheme = "bearer"

// errorResponses are the error answers every REST operation describes, by HTTP status: the
// name of the shared response and its description. grpc-gateway maps the gRPC codes;
// FAILED_PRECONDITION it answers 400, deliberately not 412.
var errorResponses = []struct{ status, name, description string }{
	{"400", "BadRequest", "INVALID_ARGUMENT: a request field is invalid, and nothing was written; `details` hold a " +
		"google.rpc.BadRequest whose `field_violations[].field` names it. Also FAILED_PRECONDITION (code 9): the " +
		"system's state does not allow the request now (e.g. the client's POS connection is not enabled), with no details."},
	{"401", "Unauthenticated", "UNAUTHENTICATED: no bearer token, or one that is invalid or expired."},
	{"403", "PermissionDenied", "PERMISSION_DENIED: the token's role may not call this, or it does not list the client."},
	{"404", "NotFound", "NOT_FOUND: the client, department, field or import does not exist."},
	{"412", "PreconditionFailed", "FAILED_PRECONDITION where a gateway maps it to 412 Precondition Failed; posimport's " +
		"gateway answers it 400 (see 400), and clients should treat both alike."},
}

// complete adds to a generated document what the protos do not say (file is its proto file's
// name, for the title).
func complete(doc map[string]any, file string) {
	doc["info"] = map[string]any{
		"title":   "posimport " + file + " API",
		"version": "v1",
		"description": "REST face of posimport's " + file + " service (grpc-gateway). Every call needs " +
			"`Authorization: Bearer <JWT>`; errors are google.rpc.Status objects.",
	}
	doc["basePath"] = "/"
	doc["securityDefinitions"] = map[string]any{
		SecurityScheme: map[string]any{
			"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "A JWT as `Bearer <token>`: the main app's user tokens (claims sub, role, clients) or a " +
				"service's own. Swagger 2.0 has no bearer type; the header carries the scheme word.",
		},
	}
	doc["security"] = []any{map[string]any{SecurityScheme: []any{}}}

	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		defs = map[string]any{}
		doc["definitions"] = defs
	}
	maps.Copy(defs, errorDefinitions())
	responses := map[string]any{}
	for _, r := range errorResponses {
		schema := "#/definitions/rpcStatus"
		if r.status == "400" {
			schema = "#/definitions/rpcBadRequestStatus"
		}
		responses[r.name] = map[string]any{"description": r.description, "schema": map[string]any{"$ref": schema}}
	}
	doc["responses"] = responses

	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			rs, _ := o["responses"].(map[string]any)
			if rs == nil {
				continue
			}
			for _, r := range errorResponses {
				rs[r.status] = map[string]any{"$ref": "#/responses/" + r.name}
			}
		}
	}
	dropRefSiblings(doc)
}

// errorDefinitions are the schemas of the error bodies: rpcStatus and protobufAny come with
// every generated document; the BadRequest detail of a 400 is added here.
func errorDefinitions() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	return map[string]any{
		"rpcBadRequestStatus": map[string]any{
			"type":        "object",
			"description": "A google.rpc.Status whose details hold a google.rpc.BadRequest when a field is invalid.",
			"properties": map[string]any{
				"code":    map[string]any{"type": "integer", "format": "int32", "description": "The gRPC code: 3 (INVALID_ARGUMENT) or 9 (FAILED_PRECONDITION)."},
				"message": str("What is wrong, for a person: the field first, e.g. \"until_date: 2026-13-01 is not a date\"."),
				"details": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/rpcBadRequest"}},
			},
		},
		"rpcBadRequest": map[string]any{
			"type":        "object",
			"description": "google.rpc.BadRequest, packed as a google.protobuf.Any: the request fields at fault.",
			"properties": map[string]any{
				"@type":            str("type.googleapis.com/google.rpc.BadRequest"),
				"field_violations": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/BadRequestFieldViolation"}},
			},
			"required":             []any{"@type"},
			"additionalProperties": true,
		},
		"BadRequestFieldViolation": map[string]any{
			"type":        "object",
			"description": "One invalid field of the request.",
			"properties": map[string]any{
				"field":       str("The field's path in the request, e.g. \"settings.time_zone\" or \"days[2].date\"."),
				"description": str("Why it is invalid."),
				"reason":      str("A machine-readable reason; empty today."),
				"localized_message": map[string]any{
					"type": "object", "description": "A localized message; absent today.",
					"properties": map[string]any{"locale": str("The message's locale."), "message": str("The message.")},
				},
			},
		},
	}
}

// dropRefSiblings removes the keys beside "$ref" in schemas: Swagger 2.0 ignores them (the
// generator writes a type and a description there), and validators warn about them.
func dropRefSiblings(v any) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok && strings.HasPrefix(ref, "#/definitions/") {
			for k := range t {
				if k != "$ref" {
					delete(t, k)
				}
			}
			return
		}
		for _, c := range t {
			dropRefSiblings(c)
		}
	case []any:
		for _, c := range t {
			dropRefSiblings(c)
		}
	}
}
