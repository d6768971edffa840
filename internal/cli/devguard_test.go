package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDevRefusesAnOpenBind: weft dev on an address that is not loopback,
// without a token, does not start, and says why and how to set one. Not
// parallel: it sets the process environment.
func TestDevRefusesAnOpenBind(t *testing.T) {
	t.Setenv("WEFT_DEV_TOKEN", "")
	for _, args := range [][]string{{"dev", "-addr", "0.0.0.0:0"}, {"dev", "-addr", ":0"}} {
		code, out, errOut := cli(context.Background(), args...)
		if code != 1 || !strings.Contains(errOut, "not a loopback address") || !strings.Contains(errOut, "WEFT_DEV_TOKEN") || strings.Contains(out, "dev server on") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a refusal before anything starts", args, code, out, errOut)
		}
	}
	t.Setenv("WEFT_DEV_ADDR", "0.0.0.0:0")
	if code, _, errOut := cli(context.Background(), "dev"); code != 1 || !strings.Contains(errOut, "WEFT_DEV_TOKEN") {
		t.Errorf("WEFT_DEV_ADDR=0.0.0.0:0: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("WEFT_DEV_TOKEN", "PWshort")
	if code, out, errOut := cli(context.Background(), "dev"); code != 1 || !strings.Contains(errOut, "shorter than 16") || strings.Contains(out+errOut, "PWshort") {
		t.Errorf("a short token: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestDevWithToken: with WEFT_DEV_TOKEN (here from WEFT_DEV_TOKEN_FILE) weft
// dev serves every interface; the remote commands send the token, a wrong
// one is refused, and nothing prints it. Not parallel: it sets the process
// environment.
func TestDevWithToken(t *testing.T) {
	const token = "PWdevtoken-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEFT_DEV_TOKEN_FILE", file)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"dev", "-addr", "0.0.0.0:0"}, &out, &errOut) }()
	portRE := regexp.MustCompile(`http://\S+:(\d+) `)
	var port string
	for deadline := time.Now().Add(20 * time.Second); port == ""; time.Sleep(5 * time.Millisecond) {
		if m := portRE.FindStringSubmatch(out.String()); m != nil {
			port = m[1]
		}
		select {
		case code := <-exit:
			t.Fatalf("dev exited with %d: %s %s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no address: %q", out.String())
		}
	}
	if !strings.Contains(out.String(), "bearer token") {
		t.Errorf("the banner does not say a token is required: %q", out.String())
	}
	addr := "127.0.0.1:" + port
	code, res, e := cli(context.Background(), "dispatch", "-addr", addr, "-wait", "FanOut", "sumOfSquares", "10")
	if code != 0 || !strings.Contains(res, `"result":385`) {
		t.Fatalf("dispatch with the token: exit %d, stdout %q, stderr %q", code, res, e)
	}
	seen := res + e
	t.Setenv("WEFT_DEV_TOKEN_FILE", "")
	t.Setenv("WEFT_DEV_TOKEN", "PWwrongtoken-0123456789abcdef")
	for _, args := range [][]string{{"dispatch", "-addr", addr, "FanOut", "sumOfSquares", "10"}, {"describe", "-addr", addr, "x"},
		{"cancel", "-addr", addr, "FanOut", "x"}} {
		code, res, e := cli(context.Background(), args...)
		if code != 1 || !strings.Contains(e, "401") || !strings.Contains(e, "wrong token") {
			t.Errorf("%v with a wrong token: exit %d, stdout %q, stderr %q", args, code, res, e)
		}
		seen += res + e
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("dev exited with %d: %s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop when its context ended")
	}
	assertNoSecret(t, "weft dev and the remote commands", seen+out.String()+errOut.String(), []string{token, "PWwrongtoken"})
}

// TestRemoteUnknownInstance: a signal or a cancel for an instance that does
// not exist fails with the 404 that says so.
func TestRemoteUnknownInstance(t *testing.T) {
	t.Parallel()
	addr := devServer(t)
	for _, args := range [][]string{{"signal", "-addr", addr, "Gated", "never", "open", `"x"`}, {"cancel", "-addr", addr, "Gated", "never"}} {
		code, out, errOut := cli(context.Background(), args...)
		if code != 1 || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "workflow_unknown") || !strings.Contains(errOut, "no such workflow instance") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}
