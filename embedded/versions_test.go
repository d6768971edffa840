package embedded_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/client"
	"github.com/weftio/weft/embedded"
	"github.com/weftio/weft/storage/memory"
	transportmemory "github.com/weftio/weft/transport/memory"
)

var (
	deployed = weft.NewWorkflow[string, string]("Deployed", "run")
	goAhead  = weft.NewChannel[string]("Deployed", "go")
)

func deployedCode(version string) func(weft.Context, string) (string, error) {
	return func(ctx weft.Context, in string) (string, error) {
		v, err := weft.Receive(ctx, goAhead).Await()
		if err != nil {
			return "", err
		}
		return version + ":" + in + ":" + v, nil
	}
}

// TestRedeployKeepsInstancesOnTheirVersion runs three "deployments" over
// one store and transport: version 1; versions 1 and 2 (the running
// instance finishes on version 1, a new one runs version 2); version 2
// only (an instance still pinned to version 1 fails with a clear error and
// keeps its state for a later deployment).
func TestRedeployKeepsInstancesOnTheirVersion(t *testing.T) {
	store, tr := memory.New(), transportmemory.New()
	tags := memory.New()
	deploy := func(versions ...int) (*embedded.Runtime, *client.Client) {
		reg := weft.NewRegistry()
		for _, v := range versions {
			weft.MustRegister(weft.RegisterWorkflow(reg, deployed, deployedCode("v"+string(rune('0'+v))), weft.WithVersion(v)))
		}
		rt, err := embedded.Start(context.Background(), reg, embedded.Options{Store: store, Tags: tags, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		return rt, rt.Client()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	rt1, c1 := deploy(1)
	old, err := client.Dispatch(ctx, c1, deployed, "old")
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := client.Dispatch(ctx, c1, deployed, "stuck")
	if err != nil {
		t.Fatal(err)
	}
	waitPinned := func(c *client.Client, id string) {
		eventually(t, id+" pinned", func() bool {
			raw, err := c.Describe(ctx, id)
			return err == nil && strings.Contains(string(raw), `"pinned": true`)
		})
	}
	waitPinned(c1, old.WorkflowID)
	waitPinned(c1, stuck.WorkflowID)
	if err := rt1.Stop(); err != nil {
		t.Fatal(err)
	}

	rt2, c2 := deploy(1, 2)
	fresh, err := client.Dispatch(ctx, c2, deployed, "new")
	if err != nil {
		t.Fatal(err)
	}
	waitPinned(c2, fresh.WorkflowID)
	for _, id := range []string{old.WorkflowID, fresh.WorkflowID} {
		if err := client.Signal(ctx, c2, goAhead, id, "go"); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := client.Get(c2, deployed, old.WorkflowID).Await(ctx); err != nil || got != "v1:old:go" {
		t.Errorf("running instance after the redeploy: %q, %v; want it on version 1", got, err)
	}
	if got, err := client.Get(c2, deployed, fresh.WorkflowID).Await(ctx); err != nil || got != "v2:new:go" {
		t.Errorf("new instance: %q, %v; want version 2", got, err)
	}
	if err := rt2.Stop(); err != nil {
		t.Fatal(err)
	}

	rt3, c3 := deploy(2)
	defer rt3.Stop()
	if err := client.Signal(ctx, c3, goAhead, stuck.WorkflowID, "go"); err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(c3, deployed, stuck.WorkflowID).Await(ctx)
	if err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("instance pinned to a version no longer deployed: %v, want an error naming version 1", err)
	}
	if raw, err := c3.Describe(ctx, stuck.WorkflowID); err != nil || !strings.Contains(string(raw), `"pinned": true`) {
		t.Errorf("its state is not kept for a fixed deployment: %v", err)
	}
}
