package sqs

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

type recordingClient struct{ got *http.Request }

func (c *recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// writerToBody is a request body that, like the SDK's, has WriteTo.
type writerToBody struct{ io.Reader }

func (writerToBody) Close() error                     { return nil }
func (writerToBody) WriteTo(io.Writer) (int64, error) { return 0, io.EOF }

// TestPlainBodies: net/http gets request bodies without WriteTo (see
// plainBodies for why), which read the same.
func TestPlainBodies(t *testing.T) {
	t.Parallel()
	rec := &recordingClient{}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	req.Body = writerToBody{strings.NewReader("payload")}
	if _, err := (plainBodies{rec}).Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.got.Body.(io.WriterTo); ok {
		t.Error("the body handed on still has WriteTo")
	}
	if b, _ := io.ReadAll(rec.got.Body); string(b) != "payload" {
		t.Errorf("body reads %q", b)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	if _, err := (plainBodies{rec}).Do(req); err != nil || rec.got.Body != nil {
		t.Errorf("a request without a body: %v, body %v", err, rec.got.Body)
	}
}
