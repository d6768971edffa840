package pulsarfunctions

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/weftio/weft/adapters/pulsar-functions/internal/controlpb"
	"github.com/weftio/weft/adapters/pulsar-functions/internal/controlpb/controlpbconnect"
)

// control serves InstanceControl, the service the worker polls for the
// instance's status, metrics and health.
type control struct {
	stats      *stats
	metrics    *metrics
	watchdog   *watchdog
	instanceID string
	// state tells whether the instance runs, and why it stopped if it
	// failed.
	state func() (running bool, failure string)
}

var _ controlpbconnect.InstanceControlHandler = (*control)(nil)

// handler serves the service over gRPC (and Connect and gRPC-Web, which
// the worker does not use but cost nothing).
func (c *control) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(controlpbconnect.NewInstanceControlHandler(c))
	return mux
}

func (c *control) GetFunctionStatus(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[controlpb.FunctionStatus], error) {
	total, _, last := c.stats.snapshot(false)
	user, system := c.stats.exceptions()
	running, failure := c.state()
	st := &controlpb.FunctionStatus{
		Running:                  running,
		FailureException:         failure,
		NumReceived:              total.received,
		NumSuccessfullyProcessed: total.processed,
		NumUserExceptions:        total.userExceptions,
		LatestUserExceptions:     exceptionInfos(user),
		NumSystemExceptions:      total.systemExceptions,
		LatestSystemExceptions:   exceptionInfos(system),
		AverageLatency:           total.avgLatencyMs(),
		InstanceId:               c.instanceID,
	}
	if !last.IsZero() {
		st.LastInvocationTime = last.UnixMilli()
	}
	return connect.NewResponse(st), nil
}

func exceptionInfos(list []exception) []*controlpb.FunctionStatus_ExceptionInformation {
	out := make([]*controlpb.FunctionStatus_ExceptionInformation, len(list))
	for i, e := range list {
		out[i] = &controlpb.FunctionStatus_ExceptionInformation{ExceptionString: e.text, MsSinceEpoch: e.at.UnixMilli()}
	}
	return out
}

func (c *control) GetMetrics(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[controlpb.MetricsData], error) {
	total, minute, last := c.stats.snapshot(false)
	return connect.NewResponse(metricsData(total, minute, last.UnixMilli(), last.IsZero())), nil
}

// GetAndResetMetrics answers the metrics, then starts a new minute: only
// the 1-minute counters are reset, the totals keep counting.
func (c *control) GetAndResetMetrics(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[controlpb.MetricsData], error) {
	_, _, last := c.stats.snapshot(false)
	total, minute := c.metrics.resetMinute()
	return connect.NewResponse(metricsData(total, minute, last.UnixMilli(), last.IsZero())), nil
}

func (c *control) ResetMetrics(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[emptypb.Empty], error) {
	c.metrics.resetMinute()
	return connect.NewResponse(&emptypb.Empty{}), nil
}

// HealthCheck always succeeds: answering at all is the health; it also
// feeds the watchdog.
func (c *control) HealthCheck(context.Context, *connect.Request[emptypb.Empty]) (*connect.Response[controlpb.HealthCheckResult], error) {
	c.watchdog.check()
	return connect.NewResponse(&controlpb.HealthCheckResult{Success: true}), nil
}

func metricsData(total, minute counts, lastMs int64, never bool) *controlpb.MetricsData {
	d := &controlpb.MetricsData{
		ReceivedTotal:                   total.received,
		ReceivedTotal_1Min:              minute.received,
		ProcessedSuccessfullyTotal:      total.processed,
		ProcessedSuccessfullyTotal_1Min: minute.processed,
		SystemExceptionsTotal:           total.systemExceptions,
		SystemExceptionsTotal_1Min:      minute.systemExceptions,
		UserExceptionsTotal:             total.userExceptions,
		UserExceptionsTotal_1Min:        minute.userExceptions,
		AvgProcessLatency:               total.avgLatencyMs(),
		AvgProcessLatency_1Min:          minute.avgLatencyMs(),
	}
	if !never {
		d.LastInvocation = lastMs
	}
	return d
}
