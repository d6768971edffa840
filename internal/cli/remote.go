package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weftio/weft/internal/config"
)

// runRemote drives a dev server's HTTP API.
func runRemote(ctx context.Context, cmd string, args []string, out io.Writer) error {
	dev, err := config.LoadDev(config.Source{})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's error says what was wrong
	addr := fs.String("addr", dev.Addr, "dev server address")
	wait := fs.Bool("wait", false, "dispatch: wait for the result")
	id := fs.String("id", "", "dispatch: the workflow id (default: a new one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a := fs.Args()
	need := map[string]int{"dispatch": 3, "describe": 1, "result": 1, "signal": 4, "cancel": 2, "retry-workflow-task": 2, "retry-tasks": 2}[cmd]
	if len(a) != need {
		return fmt.Errorf("%s takes %d argument(s), got %d (see weft help)", cmd, need, len(a))
	}
	esc := url.PathEscape
	method, path, body := http.MethodPost, "", ""
	switch cmd {
	case "dispatch":
		path, body = "/v1/workflows/"+esc(a[0])+"/"+esc(a[1]), a[2]
		q := url.Values{}
		if *wait {
			q.Set("wait", "1")
		}
		if *id != "" {
			q.Set("id", *id)
		}
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
	case "describe":
		method, path = http.MethodGet, "/v1/instances/"+esc(a[0])
	case "result":
		method, path = http.MethodGet, "/v1/instances/"+esc(a[0])+"/result"
	case "signal":
		path, body = "/v1/instances/"+esc(a[0])+"/"+esc(a[1])+"/signals/"+esc(a[2]), a[3]
	default:
		path = "/v1/instances/" + esc(a[0]) + "/" + esc(a[1]) + "/" + cmd
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+*addr+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if dev.Token != "" {
		req.Header.Set("Authorization", "Bearer "+dev.Token)
	}
	hc := &http.Client{Timeout: 5 * time.Minute}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("dev server at %s: %w", *addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	_, err = out.Write(b)
	return err
}
