//go:build linux

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/weftio/weft"
	"github.com/weftio/weft/adapters/knative"
	"github.com/weftio/weft/core"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/linkfix"
	"github.com/weftio/weft/internal/testenv"
	ktransport "github.com/weftio/weft/transport/knative"
)

// knativeWorkflow is the workflow the Knative benchmarks dispatch; the
// state engine needs only its name (no code: the workflow task it starts
// goes to the sink, for an executor elsewhere).
const knativeWorkflow = "FanOut"

// fastSink is a Broker that accepts everything at once, so the figures
// are the state engine's, not a broker's.
func fastSink(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(srv.Close)
	return srv, &n
}

// dispatchEvent is the binary-mode request of a dispatch of a new
// instance, as the Broker would post it.
func dispatchEvent(b *testing.B, url string, i int) *http.Request {
	id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
	out := core.Out{Topic: core.Topic(core.PrefixWorkflowCmd, knativeWorkflow), Key: id, Subject: id,
		Msg: &core.DispatchWorkflow{WorkflowID: id, Workflow: knativeWorkflow, Method: "sumOfSquares", Input: json.RawMessage(`10`)}}
	now := time.Now()
	env, err := core.BuildEnvelope(out, id, now, "bench", now)
	if err != nil {
		b.Fatal(err)
	}
	e, err := ktransport.ToEvent(env, nil)
	if err != nil {
		b.Fatal(err)
	}
	req, err := cehttp.NewHTTPRequestFromEvent(context.Background(), url, e)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

// BenchmarkKnativeStateEngine serves the state engine in Knative mode (the
// HTTP server, the Knative transport posting to a sink that accepts at
// once) on each storage whose service is set (memory always) and posts
// b.N dispatches of new instances from 16 concurrent senders, as a Broker
// would. It reports requests/s and the p50 and p99 latency of a request
// (post until answered: the state written, the workflow task posted).
func BenchmarkKnativeStateEngine(b *testing.B) {
	for _, st := range []string{"memory", "redis", "postgres"} {
		b.Run(st, func(b *testing.B) {
			env := map[string]string{"WEFT_STORAGE": st, "WEFT_WORKFLOWS": knativeWorkflow}
			switch st {
			case "redis":
				if os.Getenv(testenv.RedisURL) == "" {
					b.Skip(testenv.RedisURL + " is not set")
				}
			case "postgres":
				if os.Getenv(testenv.PostgresURL) == "" {
					b.Skip(testenv.PostgresURL + " is not set")
				}
			}
			if st != "memory" {
				for k, v := range testenv.Settings(b, st, "memory", "bench_kn_"+testenv.Suffix()) {
					if k != "WEFT_TRANSPORT" {
						env[k] = v
					}
				}
			}
			benchKnativeStateEngine(b, env)
		})
	}
}

func benchKnativeStateEngine(b *testing.B, env map[string]string) {
	ctx := context.Background()
	sink, posted := fastSink(b)
	env["WEFT_TRANSPORT"], env["WEFT_KNATIVE_SINK"] = "knative", sink.URL
	cfg, err := config.Load(config.Source{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		b.Fatal(err)
	}
	stores, err := bootstrap.OpenStorage(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stores.Close() })
	tr, err := bootstrap.OpenTransportWith(ctx, cfg, nil, stores)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close() })
	fns, err := bootstrap.Roles{Config: cfg, Registry: weft.NewRegistry(), Transport: tr, Store: stores.KeyValue, Tags: stores.KeySet}.
		Functions([]config.Role{config.RoleStateEngine})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	const senders = 16
	srv, err := knative.New(knative.Config{Functions: fns, Transport: tr, Listener: ln, MaxInFlight: senders})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	b.Cleanup(func() { stop(); <-done })
	<-srv.Ready()
	url := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = dispatchEvent(b, url, i)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(reqs[i])
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests not answered 200", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99-ms")
	b.Logf("%s: %d dispatches from %d senders: %.0f req/s, p50 %v, p99 %v; %d outputs posted to the sink",
		cfg.Storage, b.N, senders, float64(b.N)/elapsed.Seconds(), percentile(lat, 50), percentile(lat, 99), posted.Load())
}

// BenchmarkKnativeColdStart builds the state-engine role binary with the
// Knative runtime (as make functions does) and starts it
// -bench.binary-starts times as Knative would (PORT, K_SERVICE, K_SINK),
// on memory storage, posting a dispatch every millisecond from the exec
// on: it reports the median and the max time from the exec until the
// first request answered 200.
func BenchmarkKnativeColdStart(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	flags, err := linkfix.BuildFlags(ctx, ".", filepath.Join(dir, ".linkfix"))
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "state-engine")
	args := append(append([]string{"build"}, flags...), "-trimpath", "-ldflags=-s -w", "-tags", "weft_custom weft_knative",
		"-o", bin, "github.com/weftio/weft/functions/state-engine")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	sink, _ := fastSink(b)
	var firsts []time.Duration
	for range *binaryStarts {
		firsts = append(firsts, coldStart(b, bin, sink.URL))
	}
	slices.Sort(firsts)
	b.ReportMetric(float64(median(firsts).Microseconds())/1000, "first-answer-ms")
	b.ReportMetric(float64(firsts[len(firsts)-1].Microseconds())/1000, "first-answer-max-ms")
	b.ReportMetric(float64(fi.Size()), "bytes")
	b.Logf("knative state engine: %.2f MB; exec to the first answered request %v (max %v) over %d starts",
		megabytes(fi.Size()), median(firsts), firsts[len(firsts)-1], len(firsts))
}

// coldStart runs bin once and times exec until its first 200.
func coldStart(b *testing.B, bin, sink string) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORT=" + strconv.Itoa(port), "K_SERVICE=weft-state-engine", "K_SINK=" + sink,
		"WEFT_TRANSPORT=knative", "WEFT_STORAGE=memory", "WEFT_WORKFLOWS=" + knativeWorkflow, "WEFT_LOG_LEVEL=warn"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for i := 0; ; i++ {
		resp, err := client.Do(dispatchEvent(b, url, i))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		if time.Since(start) > time.Minute {
			b.Fatalf("no answer a minute after the exec: %v\n%s", err, stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
}
