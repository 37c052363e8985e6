package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/posimport/internal/localkeys"
)

// This file is what the API commands share: where the services are, the token, the client,
// the output format, and how server errors are shown.

// Defaults of the API flags, overridden by the environment.
const (
	defaultAddr = "127.0.0.1:9090"
	// mintedTTL is the lifetime of a token the CLI mints for one command.
	mintedTTL = 10 * time.Minute
)

// apiFlags are the flags of every command that calls the services.
type apiFlags struct {
	addr    string
	token   string
	client  string
	output  string
	timeout time.Duration
}

// addAPIFlags adds the API flags as persistent flags of a command group.
func addAPIFlags(cmd *cobra.Command, f *apiFlags) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.addr, "addr", envOr("POSIMPORT_ADDR", defaultAddr),
		"gRPC address of posimport (posimport up, or a deployment's ingress) [$POSIMPORT_ADDR]")
	fl.StringVar(&f.token, "token", os.Getenv("POSIMPORT_TOKEN"),
		"bearer JWT to call with [$POSIMPORT_TOKEN]; when empty, a 10-minute token for --client is minted with the signing key in --data-dir (only where posimport up keeps its data)")
	fl.StringVar(&f.client, "client", os.Getenv("POSIMPORT_CLIENT"), "client id [$POSIMPORT_CLIENT]")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json (protojson of the API's answer)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "time limit of each call")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// api is a connection to posimport for one command.
type api struct {
	g    *globals
	f    *apiFlags
	conn *grpc.ClientConn
}

// connect checks the common flags and dials posimport with the command's token: --token, or
// one minted for --client with role from the data directory's signing key.
func (g *globals) connect(f *apiFlags, role authn.Role) (*api, error) {
	if f.client == "" {
		return nil, errors.New("--client is required (or set POSIMPORT_CLIENT)")
	}
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("--output: %q is not table or json", f.output)
	}
	token := f.token
	if token == "" {
		keys, err := localkeys.Load(g.dataDir)
		if errors.Is(err, localkeys.ErrNoKeys) {
			return nil, fmt.Errorf("no token: pass --token or set POSIMPORT_TOKEN, or point --data-dir at the data directory of posimport up (%s has no keys)", g.dataDir)
		}
		if err != nil {
			return nil, err
		}
		if token, err = keys.Mint(operator(), role, []string{f.client}, mintedTTL); err != nil {
			return nil, err
		}
	}
	conn, err := grpc.NewClient(f.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		return nil, fmt.Errorf("--addr %s: %w", f.addr, err)
	}
	return &api{g: g, f: f, conn: conn}, nil
}

// operator names the person a minted token is for: the OS user.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// call runs one RPC under the command's time limit and turns its error into the server's
// message.
func call[Req, Resp any](ctx context.Context, a *api, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, a.f.timeout)
	defer cancel()
	resp, err := rpc(ctx, req)
	if err != nil {
		return resp, a.describe(err)
	}
	return resp, nil
}

// serverError is a server's refusal as a person reads it; it unwraps to the gRPC status.
type serverError struct {
	msg string
	err error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }

// describe turns a gRPC error into what a person reads: the code in words and the server's
// message, which names the field for invalid input.
func (a *api) describe(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		return &serverError{fmt.Sprintf("posimport at %s is not reachable (is posimport up running? --addr): %s", a.f.addr, msg), err}
	case codes.InvalidArgument:
		if field := apierr.FieldOf(err); field != "" && !strings.HasPrefix(msg, field+":") {
			msg = field + ": " + msg
		}
	}
	return &serverError{codeWords(st.Code()) + ": " + msg, err}
}

// codeWords is "invalid argument" for codes.InvalidArgument.
func codeWords(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

func (a *api) close() { _ = a.conn.Close() }

func (a *api) config() posimportv1.ConfigServiceClient {
	return posimportv1.NewConfigServiceClient(a.conn)
}
func (a *api) auth() posimportv1.AuthServiceClient { return posimportv1.NewAuthServiceClient(a.conn) }
func (a *api) balance() posimportv1.BalanceServiceClient {
	return posimportv1.NewBalanceServiceClient(a.conn)
}
func (a *api) imports() posimportv1.ImportServiceClient {
	return posimportv1.NewImportServiceClient(a.conn)
}

// json reports whether the command prints JSON.
func (a *api) json() bool { return a.f.output == "json" }

// printJSON writes m as indented protojson with the API's field names.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// withAPI wraps a command's body: it connects with role, runs body with the arguments, and
// closes.
func (g *globals) withAPI(f *apiFlags, role authn.Role, body func(ctx context.Context, a *api, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := g.connect(f, role)
		if err != nil {
			return err
		}
		defer a.close()
		return body(cmd.Context(), a, args)
	}
}
