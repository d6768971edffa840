package pulsarfunctions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/weftio/weft/functions"
)

// fixture serves the control service and the metrics of a fresh stats on
// free ports, with a settable clock.
type fixture struct {
	stats   *stats
	metrics *metrics
	control *control
	now     time.Time
	ctl     *server
	met     *server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{now: time.UnixMilli(1_700_000_000_000)}
	f.stats = newStats(func() time.Time { return f.now })
	conf := &InstanceConfig{Tenant: "acme", Namespace: "prod", Name: "engine", ShardID: 3, ClusterName: "eu"}
	f.metrics = newMetrics(f.stats, metricLabels(conf))
	f.control = &control{stats: f.stats, metrics: f.metrics, instanceID: "3",
		watchdog: newWatchdog(0, func() time.Time { return f.now }, time.After),
		state:    func() (bool, string) { return true, "" }}
	var err error
	if f.ctl, err = listen("InstanceControl", 0, f.control.handler()); err != nil {
		t.Fatal(err)
	}
	if f.met, err = listen("metrics", 0, f.metrics.handler()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*server{f.ctl, f.met} {
		go func() { _ = s.serve() }()
		t.Cleanup(func() { s.shutdown(context.Background()) })
	}
	return f
}

// feed reports a few outcomes to the stats, as the workers do.
func (f *fixture) feed() {
	for range 3 {
		f.stats.Received("t")
	}
	f.stats.Processed("t", 10*time.Millisecond)
	f.stats.Failed("t", functions.Permanent("bad input", errors.New("password=hunter2")), true, 20*time.Millisecond)
	f.stats.Failed("t", functions.Unavailable(errors.New("storage down")), false, 30*time.Millisecond)
}

func TestControlServiceOverGRPC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	client := controlClient(t, f.ctl.ln.Addr())
	ctx := context.Background()
	f.feed()

	st, err := client.GetFunctionStatus(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatalf("GetFunctionStatus: %v", err)
	}
	s := st.Msg
	if !s.Running || s.NumReceived != 3 || s.NumSuccessfullyProcessed != 1 || s.NumUserExceptions != 1 || s.NumSystemExceptions != 1 ||
		s.InstanceId != "3" || s.LastInvocationTime != f.now.UnixMilli() || s.AverageLatency != 20 {
		t.Errorf("status %v", s)
	}
	if len(s.LatestUserExceptions) != 1 || !strings.Contains(s.LatestUserExceptions[0].ExceptionString, "bad input") ||
		strings.Contains(s.LatestUserExceptions[0].ExceptionString, "hunter2") || s.LatestUserExceptions[0].MsSinceEpoch != f.now.UnixMilli() {
		t.Errorf("latest user exceptions %v (want the reason, its secret masked)", s.LatestUserExceptions)
	}
	if len(s.LatestSystemExceptions) != 1 || !strings.Contains(s.LatestSystemExceptions[0].ExceptionString, "storage down") {
		t.Errorf("latest system exceptions %v", s.LatestSystemExceptions)
	}

	m, err := client.GetMetrics(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	if d := m.Msg; d.ReceivedTotal != 3 || d.ReceivedTotal_1Min != 3 || d.ProcessedSuccessfullyTotal != 1 || d.UserExceptionsTotal != 1 ||
		d.SystemExceptionsTotal_1Min != 1 || d.AvgProcessLatency != 20 || d.LastInvocation != f.now.UnixMilli() {
		t.Errorf("metrics %v", d)
	}

	// GetAndResetMetrics answers the minute, then starts a new one; the
	// totals keep counting.
	m, err = client.GetAndResetMetrics(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil || m.Msg.ReceivedTotal_1Min != 3 {
		t.Fatalf("GetAndResetMetrics: %v, %v", m, err)
	}
	f.stats.Received("t")
	m, err = client.GetMetrics(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil || m.Msg.ReceivedTotal != 4 || m.Msg.ReceivedTotal_1Min != 1 || m.Msg.UserExceptionsTotal_1Min != 0 || m.Msg.UserExceptionsTotal != 1 {
		t.Errorf("after GetAndResetMetrics: %v, %v; want totals kept and the minute restarted", m, err)
	}
	if _, err := client.ResetMetrics(ctx, connect.NewRequest(&emptypb.Empty{})); err != nil {
		t.Fatalf("ResetMetrics: %v", err)
	}
	m, err = client.GetMetrics(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil || m.Msg.ReceivedTotal != 4 || m.Msg.ReceivedTotal_1Min != 0 {
		t.Errorf("after ResetMetrics: %v, %v", m, err)
	}
}

func TestHealthCheckSucceedsAndFeedsTheWatchdog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	client := controlClient(t, f.ctl.ln.Addr())
	f.now = f.now.Add(time.Hour)
	res, err := client.HealthCheck(context.Background(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil || !res.Msg.Success {
		t.Fatalf("HealthCheck: %v, %v", res, err)
	}
	f.control.watchdog.mu.Lock()
	last := f.control.watchdog.last
	f.control.watchdog.mu.Unlock()
	if !last.Equal(f.now) {
		t.Errorf("watchdog last saw a check at %v, want %v", last, f.now)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.feed()
	labels := `{cluster="eu",fqfn="acme/prod/engine",instance_id="3",name="engine",namespace="acme/prod",tenant="acme"}`
	for _, path := range []string{"/", "/metrics"} {
		code, text := scrape(t, f.met.ln.Addr(), path)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		for name, want := range map[string]string{
			"pulsar_function_received_total":                    "3",
			"pulsar_function_processed_successfully_total":      "1",
			"pulsar_function_user_exceptions_total":             "1",
			"pulsar_function_system_exceptions_total":           "1",
			"pulsar_function_received_total_1min":               "3",
			"pulsar_function_processed_successfully_total_1min": "1",
			"pulsar_function_user_exceptions_total_1min":        "1",
			"pulsar_function_system_exceptions_total_1min":      "1",
			"pulsar_function_process_latency_ms_count":          "3",
			"pulsar_function_process_latency_ms_sum":            "60",
			"pulsar_function_process_latency_ms_1min_count":     "3",
			"pulsar_function_last_invocation":                   fmt.Sprintf("%g", float64(f.now.UnixMilli())),
		} {
			if got := metricValue(t, text, name); got != want {
				t.Errorf("%s %s = %s, want %s", path, name, got, want)
			}
			if !strings.Contains(text, name+labels) {
				t.Errorf("%s: %s lacks the labels %s", path, name, labels)
			}
		}
		if !strings.Contains(text, `pulsar_function_process_latency_ms{`+labels[1:len(labels)-1]+`,quantile="0.99"}`) {
			t.Errorf("%s: no 0.99 quantile of the latency", path)
		}
	}
	f.metrics.resetMinute()
	_, text := scrape(t, f.met.ln.Addr(), "/")
	if metricValue(t, text, "pulsar_function_received_total_1min") != "0" || metricValue(t, text, "pulsar_function_process_latency_ms_1min_count") != "0" ||
		metricValue(t, text, "pulsar_function_received_total") != "3" {
		t.Errorf("after the minute reset:\n%s", text)
	}
	if code, _ := scrape(t, f.met.ln.Addr(), "/other"); code != 404 {
		t.Errorf("GET /other: %d, want 404", code)
	}
}

func TestStatsKeepTheLatestTenExceptions(t *testing.T) {
	t.Parallel()
	s := newStats(time.Now)
	for i := range 15 {
		s.Failed("t", fmt.Errorf("failure %d", i), false, 0)
	}
	user, _ := s.exceptions()
	if len(user) != keepExceptions || user[0].text != "failure 5" || user[9].text != "failure 14" {
		t.Errorf("kept %v", user)
	}
}
