package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/transport"
	"github.com/weftio/weft/transport/memory"
)

func consumerClient(t *testing.T, tr transport.Transport, check time.Duration) *client.Client {
	t.Helper()
	c, err := client.New(context.Background(), client.Config{Transport: tr, ConsumerCheck: check})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestAwaitWithoutConsumerFails: a client with no registry dispatching to a
// workflow no state engine serves learns it, instead of waiting forever;
// the error names the topic and what is missing.
func TestAwaitWithoutConsumerFails(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	c := consumerClient(t, tr, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.RunJSON(ctx, "Nobody", "run", []byte(`1`), client.WithID("n-1"))
	if !errors.Is(err, weft.ErrNoConsumer) {
		t.Fatalf("RunJSON = %v, want ErrNoConsumer", err)
	}
	var ce *weft.Error
	if !errors.As(err, &ce) || ce.WorkflowID != "n-1" || ce.Workflow != "Nobody" ||
		!strings.Contains(ce.Message, "workflow-cmd:Nobody") || !strings.Contains(ce.Message, "state engine") {
		t.Fatalf("error %#v does not name the instance, the topic and the missing role", err)
	}
	// An await of the dispatched instance says the same.
	_, err = c.AwaitJSON(ctx, client.Execution{Workflow: "Nobody", WorkflowID: "n-1"})
	if !errors.Is(err, weft.ErrNoConsumer) {
		t.Fatalf("AwaitJSON = %v, want ErrNoConsumer", err)
	}
	if err := c.CheckConsumers(ctx, "Nobody"); !errors.Is(err, weft.ErrNoConsumer) {
		t.Fatalf("CheckConsumers = %v, want ErrNoConsumer", err)
	}
}

// TestAwaitWithConsumerWaits: once a state engine serves the workflow, the
// check passes and the await goes on to the answer, however long it takes.
func TestAwaitWithConsumerWaits(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	var runs atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := embedded.Start(ctx, gatedRegistry(&runs), embedded.Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	c := consumerClient(t, tr, time.Millisecond)
	if err := c.CheckConsumers(ctx, gated.Workflow()); err != nil {
		t.Fatalf("CheckConsumers with the runtime up: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		v, err := client.Run(ctx, c, gated, 1, client.WithID("g-1"))
		if err == nil && v != 4 {
			err = fmt.Errorf("result %d, want 4", v)
		}
		got <- err
	}()
	// The workflow waits for its signal well past the check.
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("Run ended before its signal: %v", err)
	default:
	}
	if err := client.Signal(ctx, c, gate, "g-1", "ab"); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestCustomIDWithoutTagEngine: a dispatch by custom id goes through the
// tag engine; with a state engine but no tag engine the error names the
// tag engine's topic. A plain dispatch to the same workflow is not failed.
func TestCustomIDWithoutTagEngine(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Something (it never answers) has subscribed to the state engine's topic.
	sub, err := tr.Subscribe(ctx, "workflow-cmd:Half", transport.SubscribeOptions{Group: "state-engine"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	c := consumerClient(t, tr, time.Millisecond)
	_, err = c.RunJSON(ctx, "Half", "run", []byte(`1`), client.WithTags("customId:order-9"))
	if !errors.Is(err, weft.ErrNoConsumer) || !strings.Contains(err.Error(), "workflow-tag:Half") || !strings.Contains(err.Error(), "tag engine") {
		t.Fatalf("RunJSON by custom id = %v, want ErrNoConsumer naming workflow-tag:Half and the tag engine", err)
	}
	_, err = c.RunJSON(ctx, "Half", "run", []byte(`1`), client.WithTimeout(300*time.Millisecond))
	if !errors.Is(err, weft.ErrWorkflowTimedOut) {
		t.Fatalf("RunJSON with the state engine's topic consumed = %v, want the caller's timeout", err)
	}
}

// opaque hides every method but transport.Transport's.
type opaque struct{ transport.Transport }

// TestConsumersUnknownKeepsWaiting: a transport that cannot tell is not
// taken to have no consumer.
func TestConsumersUnknownKeepsWaiting(t *testing.T) {
	t.Parallel()
	tr := memory.New()
	defer tr.Close()
	c := consumerClient(t, opaque{tr}, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.CheckConsumers(ctx, "Nobody"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("CheckConsumers = %v, want errors.ErrUnsupported", err)
	}
	_, err := c.RunJSON(ctx, "Nobody", "run", []byte(`1`), client.WithTimeout(200*time.Millisecond))
	if !errors.Is(err, weft.ErrWorkflowTimedOut) {
		t.Fatalf("RunJSON = %v, want the caller's timeout", err)
	}
}

// counting counts the subscription lookups.
type counting struct {
	*memory.Transport
	n atomic.Int32
}

func (c *counting) HasSubscription(ctx context.Context, topic string) (bool, error) {
	c.n.Add(1)
	return c.Transport.HasSubscription(ctx, topic)
}

// TestConsumedTopicIsAskedOnce: a topic found consumed is not asked about
// again, so many awaits cost the transport one lookup.
func TestConsumedTopicIsAskedOnce(t *testing.T) {
	t.Parallel()
	tr := &counting{Transport: memory.New()}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := tr.Subscribe(ctx, "workflow-cmd:Busy", transport.SubscribeOptions{Group: "state-engine"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	c := consumerClient(t, tr, time.Millisecond)
	for range 3 {
		if _, err := c.RunJSON(ctx, "Busy", "run", []byte(`1`), client.WithTimeout(100*time.Millisecond)); !errors.Is(err, weft.ErrWorkflowTimedOut) {
			t.Fatalf("RunJSON = %v, want the caller's timeout", err)
		}
	}
	if n := tr.n.Load(); n > 1 {
		t.Fatalf("%d lookups for one consumed topic, want at most 1", n)
	}
}
