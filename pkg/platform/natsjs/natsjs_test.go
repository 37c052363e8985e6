package natsjs_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/posimport/posimport/pkg/platform/natsjs"
	"github.com/posimport/posimport/pkg/platform/natstest"
)

// TestEmbeddedKeepsStreamsAcrossRestart checks the embedded server persists to its store
// directory: a message published before a restart is there after it.
func TestEmbeddedKeepsStreamsAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()

	c, err := natsjs.Connect(ctx, natsjs.Options{StoreDir: dir, Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.Publish(ctx, "s.1", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c2, err := natsjs.Connect(ctx, natsjs.Options{StoreDir: dir, Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s, err := c2.JS.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data) != "kept" {
		t.Errorf("data = %q", msg.Data)
	}
	if err := c2.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestNatstestConn(t *testing.T) {
	t.Parallel()
	c := natstest.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := natstest.Prefix(t) + "_S"
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.JS.DeleteStream(context.Background(), name) })
	ack, err := c.JS.Publish(ctx, name+".x", []byte("1"))
	if err != nil || ack.Sequence != 1 {
		t.Fatalf("publish: %v %+v", err, ack)
	}
}
