package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

func newOpenAPICommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI document of the REST API",
		Long: `Print the OpenAPI (Swagger 2.0) document that posimport up serves at /openapi.json: the REST
API of config, auth, balance and import-worker, with the bearer JWT every call needs and the
error answers. Served, the document also names the host it was asked at; printed here it has
none, which means the host a client reads it from. Generate the main app's clients from it.`,
		Example: `  posimport openapi > openapi.json`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			doc, err := allinone.OpenAPI()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s\n", doc)
			return err
		},
	}
}
