package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/server"
	"github.com/posimport/posimport/pkg/platform/servicetest"
)

// testService answers UnaryCall by the payload's body and tells, in the response, what the
// handler saw: the caller (username), the transport (server_id) and whether the caller's
// outgoing metadata leaked into the handler's context (oauth_scope).
type testService struct {
	testpb.UnimplementedTestServiceServer
}

func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	switch string(req.GetPayload().GetBody()) {
	case "missing":
		return nil, apierr.NotFound("thing %s not found", "x")
	case "panic":
		panic("handler bug")
	case "secret":
		return nil, errors.New("connect db at secret-host")
	}
	resp := &testpb.SimpleResponse{Payload: req.GetPayload()}
	if p, ok := authn.FromContext(ctx); ok {
		resp.Username = p.Subject
	}
	if pr, ok := peer.FromContext(ctx); ok {
		resp.ServerId = pr.Addr.Network()
	}
	if md, _ := metadata.FromOutgoingContext(ctx); len(md) > 0 {
		resp.OauthScope = "outgoing metadata leaked"
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-test", "set by handler")); err != nil {
		return nil, err
	}
	return resp, nil
}

type inProcessBundle struct {
	run     *servicetest.Running
	keys    *servicetest.Keys
	grpc    testpb.TestServiceClient
	encoded *atomic.Int64
}

// setupInProcess serves testService with REST through RegisterGateway (GET /v1/test/{body})
// and a registered JSON encoder for its response.
func setupInProcess(t *testing.T) *inProcessBundle {
	t.Helper()
	keys := servicetest.NewKeys(t)
	encoded := &atomic.Int64{}
	policy := authn.Policy{testpb.TestService_UnaryCall_FullMethodName: {Roles: []authn.Role{authn.RoleViewer}}}
	run := servicetest.Start(t, keys, policy, nil, func(s *server.Server) error {
		testpb.RegisterTestServiceServer(s, testService{})
		s.RegisterGateway(testpb.TestService_ServiceDesc.ServiceName, registerTestGateway, nil)
		s.RegisterJSONEncoder(&testpb.SimpleResponse{}, func(dst []byte, m proto.Message) ([]byte, error) {
			encoded.Add(1)
			b, err := server.GatewayJSONOptions().Marshal(m)
			return append(dst, b...), err
		})
		return nil
	})
	return &inProcessBundle{
		run: run, keys: keys, encoded: encoded,
		grpc: testpb.NewTestServiceClient(servicetest.DialAs(t, run.GRPCAddr, keys.Token(t, authn.RoleViewer, "c1"))),
	}
}

// registerTestGateway is what protoc-gen-grpc-gateway writes for a GET with a path parameter.
func registerTestGateway(_ context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	client := testpb.NewTestServiceClient(conn)
	return mux.HandlePath(http.MethodGet, "/v1/test/{body}", func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, out := runtime.MarshalerForRequest(mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, testpb.TestService_UnaryCall_FullMethodName)
		if err != nil {
			runtime.HTTPError(r.Context(), mux, out, w, r, err)
			return
		}
		var md runtime.ServerMetadata
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(params["body"])}},
			grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
		ctx = runtime.NewServerMetadataContext(ctx, md)
		if err != nil {
			runtime.HTTPError(ctx, mux, out, w, r, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, out, w, r, resp)
	})
}

// TestInProcessGatewayPassesInterceptors: REST calls of a service registered with
// RegisterService and RegisterGateway run in-process, yet meet the same interceptors as gRPC
// calls — authentication and roles, error mapping, panic recovery, metrics — and headers set
// by the handler reach the REST answer.
func TestInProcessGatewayPassesInterceptors(t *testing.T) {
	t.Parallel()
	b := setupInProcess(t)
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	supervisor := b.keys.Token(t, authn.RoleSupervisor, "c1")
	for _, tc := range []struct {
		name, body, token string
		wantHTTP          int
		wantCode          codes.Code
		wantMessage       string
	}{
		{name: "ok", body: "hello", token: viewer, wantHTTP: 200, wantCode: codes.OK},
		{name: "no token", body: "hello", wantHTTP: 401, wantCode: codes.Unauthenticated, wantMessage: "missing bearer token"},
		{name: "role not allowed", body: "hello", token: supervisor, wantHTTP: 403, wantCode: codes.PermissionDenied, wantMessage: `role "supervisor" may not call UnaryCall`},
		{name: "not found", body: "missing", token: viewer, wantHTTP: 404, wantCode: codes.NotFound, wantMessage: "thing x not found"},
		{name: "panic", body: "panic", token: viewer, wantHTTP: 500, wantCode: codes.Internal, wantMessage: "internal error"},
		{name: "internal error hides its cause", body: "secret", token: viewer, wantHTTP: 500, wantCode: codes.Internal, wantMessage: "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := b.run.Do(t, http.MethodGet, "/v1/test/"+tc.body, tc.token, nil)
			if resp.Status != tc.wantHTTP {
				t.Fatalf("REST status = %d, want %d; body %s", resp.Status, tc.wantHTTP, resp.Body)
			}
			if tc.wantHTTP != 200 {
				if got := resp.Message(); got != tc.wantMessage {
					t.Errorf("REST message = %q, want %q", got, tc.wantMessage)
				}
				return
			}
			var got struct {
				Username   string `json:"username"`
				ServerID   string `json:"server_id"`
				OauthScope string `json:"oauth_scope"`
				Payload    struct {
					Body []byte `json:"body"`
				} `json:"payload"`
			}
			resp.JSON(t, &got)
			want := got
			want.Username, want.ServerID, want.OauthScope = "user-viewer", "inprocess", ""
			want.Payload.Body = []byte(tc.body)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("REST answer (-want +got):\n%s", diff)
			}
		})
		t.Run(tc.name+"/grpc", func(t *testing.T) {
			t.Parallel()
			conn := servicetest.DialAs(t, b.run.GRPCAddr, tc.token)
			var header metadata.MD
			resp, err := testpb.NewTestServiceClient(conn).UnaryCall(context.Background(),
				&testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(tc.body)}}, grpc.Header(&header))
			if st := status.Convert(err); st.Code() != tc.wantCode || (err != nil && st.Message() != tc.wantMessage) {
				t.Fatalf("gRPC = %v, want %v %q", err, tc.wantCode, tc.wantMessage)
			}
			if err == nil && (resp.GetUsername() != "user-viewer" || resp.GetServerId() != "tcp" || header.Get("x-test")[0] != "set by handler") {
				t.Errorf("gRPC answer = %v, header %v", resp, header)
			}
		})
	}
}

// TestInProcessGatewayDetails: handler headers reach the REST answer, the registered encoder
// writes it, and REST and gRPC calls are counted alike in the metrics.
func TestInProcessGatewayDetails(t *testing.T) {
	t.Parallel()
	b := setupInProcess(t)
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	counter := func(code string) float64 { return requestsCounted(t, b.run.Server.Registry(), "UnaryCall", code) }
	req, err := http.NewRequest(http.MethodGet, b.run.HTTPBase+"/v1/test/hi", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+viewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("Grpc-Metadata-X-Test"); got != "set by handler" {
		t.Errorf("REST header Grpc-Metadata-X-Test = %q", got)
	}
	if n := b.encoded.Load(); n != 1 {
		t.Errorf("registered encoder wrote %d answers, want 1", n)
	}
	if _, err := b.grpc.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	_ = b.run.Do(t, http.MethodGet, "/v1/test/missing", viewer, nil)
	if got := [2]float64{counter("OK"), counter("NotFound")}; got != [2]float64{2, 1} {
		t.Errorf("requests counted OK, NotFound = %v, want [2 1] (one REST and one gRPC OK)", got)
	}
	if n := b.encoded.Load(); n != 1 {
		t.Errorf("encoder ran for an error answer or a gRPC call: %d answers", n)
	}
}

// requestsCounted returns posimport_grpc_requests_total for a method and code.
func requestsCounted(t *testing.T, reg *prometheus.Registry, method, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "posimport_grpc_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestEncodedAnswersUnderConcurrency: answers written with a registered encoder reuse their
// buffers once written; under concurrent requests each caller still gets its own answer.
func TestEncodedAnswersUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setupInProcess(t)
	viewer := b.keys.Token(t, authn.RoleViewer, "c1")
	const workers, each = 8, 40
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				body := fmt.Sprintf("w%d-%d-%s", w, i, strings.Repeat("x", (w*each+i)%300))
				status, answer, err := getAs(b.run.HTTPBase+"/v1/test/"+body, viewer)
				var got struct {
					Payload struct {
						Body []byte `json:"body"`
					} `json:"payload"`
				}
				if err == nil {
					err = json.Unmarshal(answer, &got)
				}
				if err != nil || string(got.Payload.Body) != body {
					errs <- fmt.Errorf("request %s: %d %s %w", body, status, answer, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := b.encoded.Load(); n != workers*each {
		t.Errorf("encoder wrote %d answers, want %d", n, workers*each)
	}
}

// getAs GETs url with a bearer token; it is safe to call from any goroutine.
func getAs(url, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
