package samtest

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	secretArn    = "arn:aws:secretsmanager:" + region + ":" + account + ":secret:weft-storage-url-AbCdEf"
	ssmParameter = "/weft/storage-url"
	kmsKeyArn    = "arn:aws:kms:" + region + ":" + account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// scenarios are the parameter sets the checks run on: the defaults (the
// bundled examples' workflows and services), and one with every default
// changed, the event listener on and other names.
var scenarios = []struct {
	name     string
	override map[string]string
}{
	{"defaults", map[string]string{"StorageUrlSecretArn": secretArn}},
	{"changed", map[string]string{"StorageUrlSsmParameter": ssmParameter, "EventsSink": "https://sink.example/events",
		"Workflows": "Greeter", "Services": "Hello,World", "QueuePrefix": "acme-", "Storage": "redis",
		"BatchSize": "7", "MaximumBatchingWindow": "3", "MaximumConcurrency": "11", "MaxReceiveCount": "9",
		"FunctionTimeout": "120", "ExecutorTimeout": "900", "LogLevel": "debug"}},
	{"vpc", map[string]string{"StorageUrlSecretArn": secretArn, "StorageUrlKmsKeyArn": kmsKeyArn, "Storage": "mysql",
		"SubnetIds": "subnet-0a1,subnet-0b2", "SecurityGroupIds": "sg-0c3", "EventsSink": "http://sink.internal:8080/"}},
}

func (s *stack) param(name string) string { return fmt.Sprint(s.params[name]) }

func (s *stack) topology() []consumed {
	return topology(s.param("QueuePrefix"), s.params["Workflows"].([]string), s.params["Services"].([]string), s.param("EventsSink") != "")
}

// queues maps the stack's queue names to their resource ids.
func (s *stack) queues() map[string]string {
	out := map[string]string{}
	for _, id := range s.ofType("AWS::SQS::Queue") {
		name := s.queueName(id)
		if prev, dup := out[name]; dup {
			s.t.Errorf("%s and %s are both the queue %s", prev, id, name)
		}
		out[name] = id
	}
	return out
}

var queueNameRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}(\.fifo)?$`)

// TestQueues: the template makes exactly the queues the naming rule gives
// for the roles' topics (each with its redrive and dead-letter queue), of
// the right kind, redriven to the right queue.
func TestQueues(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, sc.override)
			got := s.queues()
			var want []string
			for _, c := range s.topology() {
				want = append(want, c.queue, redriveName(c.queue))
				if c.deadLetters != "" {
					want = append(want, c.deadLetters)
				}
			}
			sort.Strings(want)
			names := make([]string, 0, len(got))
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if !slices.Equal(names, want) {
				t.Errorf("queues:\n%s\nwant (the naming rule):\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
			}
			for name, id := range got {
				p := s.props(id)
				if !queueNameRule.MatchString(name) {
					t.Errorf("%s: %q is no SQS queue name (letters, digits, - and _, at most 80 characters with .fifo)", id, name)
				}
				if fifo := p["FifoQueue"] == "true"; fifo != strings.HasSuffix(name, ".fifo") {
					t.Errorf("%s (%s): FifoQueue %v", id, name, p["FifoQueue"])
				}
				if p["MessageRetentionPeriod"] != "1209600" {
					t.Errorf("%s: messages kept %v s, want 14 days", id, p["MessageRetentionPeriod"])
				}
			}
			for _, c := range s.topology() {
				p := s.props(got[c.queue])
				if p["FifoQueue"] == "true" && (p["ContentBasedDeduplication"] != "true" || p["DeduplicationScope"] != "messageGroup" || p["FifoThroughputLimit"] != "perMessageGroupId") {
					t.Errorf("%s: want content-based deduplication in high-throughput mode, got %v", c.queue, p)
				}
				rp := asMap(p["RedrivePolicy"])
				if rp["deadLetterTargetArn"] != queueArn(redriveName(c.queue)) || rp["maxReceiveCount"] != s.param("MaxReceiveCount") {
					t.Errorf("%s: RedrivePolicy %v, want %s after MaxReceiveCount (%s) receives", c.queue, rp, redriveName(c.queue), s.param("MaxReceiveCount"))
				}
				for _, other := range []string{redriveName(c.queue), c.deadLetters} {
					if id, ok := got[other]; ok && s.props(id)["RedrivePolicy"] != nil {
						t.Errorf("%s is redriven itself", other)
					}
				}
			}
		})
	}
}

// TestEventSources: every consumed queue feeds its role's function and no
// other, with partial batch failures, the batch parameters, no batching
// window on FIFO queues (SQS refuses one), and nothing else is polled.
func TestEventSources(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, sc.override)
			byQueue := map[string][]map[string]any{}
			for _, id := range s.ofType("AWS::Lambda::EventSourceMapping") {
				p := s.props(id)
				arn := fmt.Sprint(p["EventSourceArn"])
				byQueue[arn] = append(byQueue[arn], p)
			}
			consumedArns := map[string]bool{}
			for _, c := range s.topology() {
				arn := queueArn(c.queue)
				consumedArns[arn] = true
				ms := byQueue[arn]
				if len(ms) != 1 {
					t.Errorf("%s: %d event sources, want one", c.queue, len(ms))
					continue
				}
				m := ms[0]
				if m["FunctionName"] != "ref:"+c.role.function {
					t.Errorf("%s feeds %v, want %s", c.queue, m["FunctionName"], c.role.function)
				}
				if !slices.Equal(strs(asList(m["FunctionResponseTypes"])), []string{"ReportBatchItemFailures"}) {
					t.Errorf("%s: FunctionResponseTypes %v, want [ReportBatchItemFailures]", c.queue, m["FunctionResponseTypes"])
				}
				if m["BatchSize"] != s.param("BatchSize") || asMap(m["ScalingConfig"])["MaximumConcurrency"] != s.param("MaximumConcurrency") {
					t.Errorf("%s: BatchSize %v, ScalingConfig %v: want the BatchSize and MaximumConcurrency parameters", c.queue, m["BatchSize"], m["ScalingConfig"])
				}
				window, has := m["MaximumBatchingWindowInSeconds"]
				if fifo := strings.HasSuffix(c.queue, ".fifo"); fifo && has || !fifo && window != s.param("MaximumBatchingWindow") {
					t.Errorf("%s: MaximumBatchingWindowInSeconds %v: want the parameter on standard queues, none on FIFO ones", c.queue, window)
				}
			}
			for arn := range byQueue {
				if !consumedArns[arn] {
					t.Errorf("an event source polls %s, which no role consumes", arn)
				}
			}
		})
	}
}

// TestVisibilityTimeout: for every function timeout the parameters allow,
// each consumed queue hides a received message for at least six times
// its function's timeout, as AWS advises for Lambda's SQS triggers.
func TestVisibilityTimeout(t *testing.T) {
	t.Parallel()
	base := newStack(t, scenarios[0].override)
	allowed := strs(asList(base.parameters["FunctionTimeout"]["AllowedValues"]))
	for i, timeout := range allowed {
		// The executor's timeout the other way round, so a queue that
		// follows the wrong one shows.
		s := newStack(t, map[string]string{"StorageUrlSecretArn": secretArn, "EventsSink": "https://sink.example/",
			"FunctionTimeout": timeout, "ExecutorTimeout": allowed[len(allowed)-1-i]})
		queues := s.queues()
		for _, c := range s.topology() {
			fnTimeout, err1 := strconv.Atoi(fmt.Sprint(s.props(c.role.function)["Timeout"]))
			visibility, err2 := strconv.Atoi(fmt.Sprint(s.props(queues[c.queue])["VisibilityTimeout"]))
			if err1 != nil || err2 != nil || visibility < 6*fnTimeout || visibility > 43200 {
				t.Errorf("timeout %s: %s is hidden %d s after a receive, its function %s times out after %d s: want 6× (%v, %v)",
					timeout, c.queue, visibility, c.role.function, fnTimeout, err1, err2)
			}
		}
	}
}

// TestResourceCount: the stack's size is what lambda/README.md says, 12 +
// 24 per workflow + 12 per service, and 3 + 4 + 4 more with events,
// against CloudFormation's 500.
func TestResourceCount(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		s := newStack(t, sc.override)
		w, sv := len(s.params["Workflows"].([]string)), len(s.params["Services"].([]string))
		want := 12 + 24*w + 12*sv
		if s.param("EventsSink") != "" {
			want += 3 + 4*w + 4*sv
		}
		if len(s.resources) != want || want > 500 {
			t.Errorf("%s: %d resources, want %d (at most 500)", sc.name, len(s.resources), want)
		}
	}
}
