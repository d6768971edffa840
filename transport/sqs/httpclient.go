package sqs

import (
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// plainBodies hands net/http request bodies that are only readers and
// closers.
//
// Why: the SDK closes a request's body as soon as the response headers
// are in, and its body also implements io.WriterTo, which once closed
// returns io.EOF as an error. net/http's connection writer may, at that
// moment, still be making its last copy of the body (to check that
// nothing follows Content-Length), which it does through WriteTo; the
// io.EOF makes it close the connection while the response body is being
// read. The SDK then retries the call, and for ReceiveMessage that is a
// loss: SQS handed the messages to the first attempt, so they stay hidden
// for the visibility timeout. (Seen against ElasticMQ as a response read
// failing with "use of closed network connection" and ten messages
// missing for 30 s.) A body without WriteTo is read with Read, which after
// the SDK's close just reports the end.
type plainBodies struct{ c sqs.HTTPClient }

func (p plainBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = plainBody{r.Body}
	}
	c := p.c
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	return c.Do(r)
}

// plainBody hides every method of a body but Read and Close.
type plainBody struct{ rc io.ReadCloser }

func (b plainBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b plainBody) Close() error               { return b.rc.Close() }
