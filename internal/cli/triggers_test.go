package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConfigValidateChecksTriggers: config validate and the roles'
// start-up refuse a mapping that does not fit the program's workflows,
// naming the trigger and the fault; a good one validates.
func TestConfigValidateChecksTriggers(t *testing.T) {
	ctx := context.Background()
	t.Setenv("WEFT_TRIGGERS", `[{"type":"expense.submitted","action":"dispatch","workflow":"ExpenseApproval","method":"approve",
		"input":{"employee":"$.who","amout":"$.amount"}},
		{"type":"expense.decided","action":"signal","workflow":"ExpenseApproval","id":"@subject"}]`)
	code, out, errOut := cli(ctx, "config", "validate")
	for _, want := range []string{`triggers[0] (type "expense.submitted"): does not fit ExpenseApproval.approve`, `amout`,
		`triggers[1] (type "expense.decided"): a signal needs its channel`} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("config validate: exit %d, stderr %q; want 1 and %q", code, errOut, want)
		}
	}
	if code, _, errOut := cli(ctx, "run"); code != 1 || !strings.Contains(errOut, "does not fit ExpenseApproval.approve") {
		t.Errorf("run: exit %d, stderr %q; want the start-up refused for the trigger", code, errOut)
	}
	t.Setenv("WEFT_TRIGGERS", `[{"type":"expense.decided","action":"signal","workflow":"ExpenseApproval","id":"@subject","channel":"decisions",
		"input":{"approved":"$.ok","by":"$.manager"}}]`)
	if code, out, errOut = cli(ctx, "config", "validate"); code != 0 || !strings.Contains(out, "expense.decided") {
		t.Errorf("config validate of a good mapping: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestDevServerEvents: weft dev takes CloudEvents at POST /v1/events and
// maps them by the triggers: a submitted expense starts an approval, a
// decision signals it; an unknown type is answered 422 with the reason.
func TestDevServerEvents(t *testing.T) {
	t.Setenv("WEFT_TRIGGERS", `[{"type":"expense.submitted","action":"dispatch","workflow":"ExpenseApproval","method":"approve",
		"id":"expense-{$.id}","input":{"employee":"$.who","amount":"$.amount","deadline":"$.deadline"}},
		{"type":"expense.decided","action":"signal","workflow":"ExpenseApproval","id":"expense-{$.id}","channel":"decisions",
		"input":{"approved":"$.ok","by":"@subject"}}]`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"dev", "-addr", "127.0.0.1:0"}, &out, &errOut) }()
	addrRE := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := addrRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("dev exited with %d: %s %s", code, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no address: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	post := func(headers map[string]string, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/events", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Binary mode.
	code, body := post(map[string]string{"ce-specversion": "1.0", "ce-id": "e-1", "ce-source": "hr", "ce-type": "expense.submitted",
		"Content-Type": "application/json"}, `{"id":"7","who":"erin","amount":80,"deadline":3600000000000}`)
	if code != http.StatusAccepted {
		t.Fatalf("submitted: HTTP %d %s", code, body)
	}
	// Structured mode.
	code, body = post(map[string]string{"Content-Type": "application/cloudevents+json"},
		`{"specversion":"1.0","id":"e-2","source":"hr","type":"expense.decided","subject":"mia","datacontenttype":"application/json","data":{"id":"7","ok":true}}`)
	if code != http.StatusAccepted {
		t.Fatalf("decided: HTTP %d %s", code, body)
	}
	code, res, e := cli(context.Background(), "result", "-addr", addr, "expense-7")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(res, `"approved"`) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		code, res, e = cli(context.Background(), "result", "-addr", addr, "expense-7")
	}
	if code != 0 || !strings.Contains(res, `"status":"approved"`) || !strings.Contains(res, `"by":"mia"`) {
		t.Errorf("result of expense-7: exit %d, stdout %q, stderr %q; want approved by mia", code, res, e)
	}
	code, body = post(map[string]string{"ce-specversion": "1.0", "ce-id": "e-3", "ce-source": "hr", "ce-type": "expense.deleted",
		"Content-Type": "application/json"}, `{}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "no trigger maps") {
		t.Errorf("unknown type: HTTP %d %s; want 422 saying no trigger maps it", code, body)
	}
	if code, body = post(map[string]string{"Content-Type": "application/json"}, `{}`); code != http.StatusBadRequest {
		t.Errorf("no CloudEvent: HTTP %d %s; want 400", code, body)
	}
	cancel()
	<-exit
}
