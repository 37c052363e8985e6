package server

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// GatewayClientRegistrar registers one service's REST handlers on the gateway mux with a
// client connection, e.g.
//
//	func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
//		return v1.RegisterFooServiceHandlerClient(ctx, mux, v1.NewFooServiceClient(conn))
//	}
type GatewayClientRegistrar func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error

// localMethod is a unary method of a service registered with RegisterService.
type localMethod struct {
	impl any
	desc *grpc.MethodDesc
	info *grpc.UnaryServerInfo
}

// RegisterService implements grpc.ServiceRegistrar: it registers impl on the gRPC server (as
// GRPC().RegisterService does) and remembers its unary methods, so that gateways registered
// with RegisterGateway call them in-process.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.grpc.RegisterService(desc, impl)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range desc.Methods {
		full := "/" + desc.ServiceName + "/" + desc.Methods[i].MethodName
		s.local[full] = localMethod{impl: impl, desc: &desc.Methods[i], info: &grpc.UnaryServerInfo{Server: impl, FullMethod: full}}
	}
}

var _ grpc.ServiceRegistrar = (*Server)(nil)

// RegisterGateway adds a service as Register does, with REST handlers that take a client
// connection. Unary RPCs of services registered with RegisterService go through that
// connection in-process: the request is encoded and decoded as on the wire, the call runs
// the gRPC server's own interceptor chain (recovery, metrics, logging, error mapping,
// authentication) with the gateway's metadata as incoming metadata, and the response is
// handed over without a second encoding. Streams and other services take the loopback gRPC
// connection.
func (s *Server) RegisterGateway(serviceName string, gw GatewayClientRegistrar, openapi []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = append(s.services, serviceName)
	s.clientGateways = append(s.clientGateways, gw)
	if openapi != nil {
		s.openapi = append(s.openapi, openapi)
	}
}

// localConn returns the gateway's connection for RegisterGateway; s.mu must be held.
func (s *Server) localConn(remote *grpc.ClientConn) *inProcessConn {
	methods := make(map[string]localMethod, len(s.local))
	for k, v := range s.local {
		methods[k] = v
	}
	return &inProcessConn{remote: remote, methods: methods, interceptor: s.unary}
}

// inProcessConn calls local unary methods directly and everything else over remote.
type inProcessConn struct {
	remote      *grpc.ClientConn
	methods     map[string]localMethod
	interceptor grpc.UnaryServerInterceptor
}

var _ grpc.ClientConnInterface = (*inProcessConn)(nil)

// Invoke implements grpc.ClientConnInterface.
func (c *inProcessConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	m, ok := c.methods[method]
	if !ok {
		return c.remote.Invoke(ctx, method, args, reply, opts...)
	}
	// The handler gets its own copy of the request, decoded from the wire form as a remote
	// call's would be (the request is small; the response is the large part).
	req, err := proto.Marshal(args.(proto.Message))
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	// What the client would send becomes what the server receives; nothing the caller meant
	// for this call leaks into the calls the handler makes.
	md, _ := metadata.FromOutgoingContext(ctx)
	sctx := metadata.NewIncomingContext(metadata.NewOutgoingContext(ctx, nil), md)
	stream := &inProcessStream{method: method}
	sctx = grpc.NewContextWithServerTransportStream(sctx, stream)
	sctx = peer.NewContext(sctx, &peer.Peer{Addr: inProcessAddr{}, LocalAddr: inProcessAddr{}})
	dec := func(v any) error { return proto.Unmarshal(req, v.(proto.Message)) }
	resp, err := m.desc.Handler(m.impl, sctx, dec, c.interceptor)
	stream.deliver(opts)
	if err != nil {
		// As on the wire, the caller sees a status.
		if st, ok := status.FromError(err); ok {
			return st.Err()
		}
		return status.FromContextError(err).Err()
	}
	return move(reply.(proto.Message), resp.(proto.Message))
}

// NewStream implements grpc.ClientConnInterface: streams always take the loopback connection.
func (c *inProcessConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.remote.NewStream(ctx, desc, method, opts...)
}

// move makes dst hold src's fields. It is shallow: src is a handler's response, which
// nothing else uses once the handler returned (as on the wire, where it is encoded after).
func move(dst, src proto.Message) error {
	d, sr := dst.ProtoReflect(), src.ProtoReflect()
	if d.Descriptor() != sr.Descriptor() {
		return status.Errorf(codes.Internal, "grpc: response is a %s, not a %s", sr.Descriptor().FullName(), d.Descriptor().FullName())
	}
	proto.Reset(dst)
	sr.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		d.Set(fd, v)
		return true
	})
	if u := sr.GetUnknown(); len(u) > 0 {
		d.SetUnknown(u)
	}
	return nil
}

// inProcessStream is the server transport stream of an in-process call: it collects the
// headers and trailers the handler sets, for the caller's grpc.Header and grpc.Trailer options.
type inProcessStream struct {
	method string

	mu      sync.Mutex
	header  metadata.MD
	trailer metadata.MD
	sent    bool
}

var _ grpc.ServerTransportStream = (*inProcessStream)(nil)

func (s *inProcessStream) Method() string { return s.method }

func (s *inProcessStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent {
		return fmt.Errorf("grpc: headers already sent")
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *inProcessStream) SendHeader(md metadata.MD) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = true
	return nil
}

func (s *inProcessStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// deliver hands the headers and trailers to the call's options.
func (s *inProcessStream) deliver(opts []grpc.CallOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = s.header.Copy()
		case grpc.TrailerCallOption:
			*o.TrailerAddr = s.trailer.Copy()
		}
	}
}

// inProcessAddr is the peer address of in-process calls.
type inProcessAddr struct{}

func (inProcessAddr) Network() string { return "inprocess" }
func (inProcessAddr) String() string  { return "inprocess" }

var _ net.Addr = inProcessAddr{}
