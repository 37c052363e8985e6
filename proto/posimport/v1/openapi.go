package posimportv1

import (
	"embed"
	"fmt"
)

//go:embed *.swagger.json
var openAPIFiles embed.FS

// OpenAPI returns the generated OpenAPI (Swagger 2.0) document of one proto file of this
// package, e.g. OpenAPI("config") for config.proto. Services serve it at /openapi.json.
func OpenAPI(file string) ([]byte, error) {
	b, err := openAPIFiles.ReadFile(file + ".swagger.json")
	if err != nil {
		return nil, fmt.Errorf("openapi document %q: %w", file, err)
	}
	return b, nil
}
