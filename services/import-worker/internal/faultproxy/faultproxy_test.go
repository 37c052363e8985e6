package faultproxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/posimport/posimport/services/import-worker/internal/faultproxy"
)

// TestGateHoldsAGRPCCall: a gate on GRPCMethod lets the connection's other calls through,
// holds the first call of its method before the server sees it, and delivers it on release;
// a second call of the method on the same connection no longer carries the pattern.
func TestGateHoldsAGRPCCall(t *testing.T) {
	t.Parallel()
	const read, write = "/test.v1.TestService/Read", "/test.v1.TestService/Write"
	seen := make(chan string, 4)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		if err := stream.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		m, _ := grpc.MethodFromServerStream(stream)
		seen <- m
		return stream.SendMsg(new(emptypb.Empty))
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	p := faultproxy.Start(t, "grpc", lis.Addr().String())
	gate := p.Hold(t, "write", faultproxy.Upstream, faultproxy.GRPCMethod(write))
	conn, err := grpc.NewClient(p.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	call := func(method string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	}

	if err := call(read); err != nil {
		t.Fatalf("%s through the gate: %v", read, err)
	}
	if m := <-seen; m != read {
		t.Fatalf("server saw %s, want %s", m, read)
	}
	done := make(chan error, 1)
	go func() { done <- call(write) }()
	deadline := time.After(30 * time.Second)
	for gate.Caught() == 0 {
		select {
		case err := <-done:
			t.Fatalf("%s went through the gate (%v): its pattern was not on the wire", write, err)
		case <-deadline:
			t.Fatalf("%s neither held nor answered within 30s", write)
		case <-time.After(5 * time.Millisecond): // polling with a deadline
		}
	}
	select {
	case m := <-seen:
		t.Fatalf("server saw %s while the gate held it", m)
	default:
	}
	gate.Release()
	if err := <-done; err != nil {
		t.Fatalf("%s after release: %v", write, err)
	}
	if m := <-seen; m != write {
		t.Fatalf("server saw %s, want %s", m, write)
	}

	again := p.Hold(t, "write-again", faultproxy.Upstream, faultproxy.GRPCMethod(write))
	defer again.Release()
	if err := call(write); err != nil {
		t.Fatalf("second %s: %v", write, err)
	}
	if n := again.Caught(); n != 0 {
		t.Errorf("the second %s on the connection was caught %d times: its :path is an index now, not the literal", write, n)
	}
	<-seen
}

// TestCutAndDownKeepThePort: Cut drops the connections through the proxy and Down refuses new
// ones until Up, and all the while the proxy's port stays its own (no other listener can take
// it, the race a close and listen again had).
func TestCutAndDownKeepThePort(t *testing.T) {
	t.Parallel()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	p := faultproxy.Start(t, "echo", echo.Addr().String())
	roundTrip := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != "ping" {
			return fmt.Errorf("echo said %q", buf)
		}
		return nil
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.Addr(), 10*time.Second)
		if err != nil {
			t.Fatalf("dial the proxy: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	portTaken := func(when string) {
		t.Helper()
		l, err := net.Listen("tcp", p.Addr())
		if err == nil {
			_ = l.Close()
			t.Fatalf("%s: another listener could take the proxy's port %s", when, p.Addr())
		}
	}

	c := dial()
	if err := roundTrip(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut(t)
	if err := roundTrip(c); err == nil {
		t.Fatal("a connection worked after Cut")
	}
	portTaken("after Cut")
	if err := roundTrip(dial()); err != nil {
		t.Fatalf("a new connection after Cut: %v", err)
	}

	up := dial()
	if err := roundTrip(up); err != nil {
		t.Fatal(err)
	}
	p.Down()
	if err := roundTrip(up); err == nil {
		t.Fatal("a connection open before Down still worked")
	}
	if err := roundTrip(dial()); err == nil {
		t.Fatal("a new connection worked while the proxy was down")
	}
	portTaken("while down")
	p.Up()
	if err := roundTrip(dial()); err != nil {
		t.Fatalf("a new connection after Up: %v", err)
	}
}
