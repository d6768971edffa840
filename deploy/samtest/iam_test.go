package samtest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// statement is one evaluated IAM policy statement.
type statement struct {
	actions, resources []string
	condition          map[string]any
}

// grants returns the statements of a function's role, and its managed
// policies.
func (s *stack) grants(function string) (stmts []statement, managed []string) {
	t := s.t
	arn := fmt.Sprint(s.props(function)["Role"])
	id, ok := strings.CutSuffix(strings.TrimPrefix(arn, "getatt:"), ".Arn")
	if !ok || s.resources[id]["Type"] != "AWS::IAM::Role" {
		t.Fatalf("%s: Role %s is no role of the template", function, arn)
	}
	p := s.props(id)
	trust := fmt.Sprint(p["AssumeRolePolicyDocument"])
	if !strings.Contains(trust, "lambda.amazonaws.com") || !strings.Contains(trust, "sts:AssumeRole") || strings.Count(trust, "Principal") != 1 {
		t.Errorf("%s: trust policy %s, want Lambda alone", id, trust)
	}
	for _, pol := range asList(p["Policies"]) {
		for _, st := range asList(asMap(asMap(pol)["PolicyDocument"])["Statement"]) {
			st := asMap(st)
			if st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil {
				t.Errorf("%s: statement %v: want Allow with Action and Resource", id, st)
			}
			stmts = append(stmts, statement{one(st["Action"]), one(st["Resource"]), asMap(st["Condition"])})
		}
	}
	return stmts, strList(p["ManagedPolicyArns"])
}

// one is a value IAM takes as a string or a list of them.
func one(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	return strList(v)
}

// matches reports whether an IAM resource pattern (* and ?) matches arn.
func matches(pattern, arn string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

func allowed(stmts []statement, action, arn string) bool {
	for _, st := range stmts {
		if slices.Contains(st.actions, action) && slices.ContainsFunc(st.resources, func(p string) bool { return matches(p, arn) }) {
			return true
		}
	}
	return false
}

var (
	consumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
	publishActions = []string{"sqs:SendMessage", "sqs:GetQueueUrl"}
)

// TestPolicies: each function's role may write its own logs, publish to
// every queue of the prefix (clients' response queues included), consume
// its own queues and no other, and read the storage URL's secret or
// parameter (and its key) when it uses storage; nothing else.
func TestPolicies(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, sc.override)
			queues := s.queues()
			prefix := s.param("QueuePrefix")
			for _, r := range s.present() {
				stmts, managed := s.grants(r.function)
				checkQueueGrants(t, s, r, stmts, queues)
				for _, q := range []string{prefix + "response_my-api", prefix + "response_weft-cli"} {
					if !allowed(stmts, "sqs:SendMessage", queueArn(q)) || !allowed(stmts, "sqs:GetQueueUrl", queueArn(q)) {
						t.Errorf("%s cannot answer the client queue %s", r.function, q)
					}
				}
				if allowed(stmts, "sqs:SendMessage", queueArn("other-"+prefix+"x")) {
					t.Errorf("%s may publish to queues outside the prefix %q", r.function, prefix)
				}
				logs := "getatt:" + strings.TrimPrefix(fmt.Sprint(asMap(s.props(r.function)["LoggingConfig"])["LogGroup"]), "ref:") + ".Arn"
				for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
					if !allowed(stmts, a, logs) {
						t.Errorf("%s: no %s on its log group %s", r.function, a, logs)
					}
				}
				checkSecretGrants(t, s, r, stmts)
				vpc := s.params["SubnetIds"].([]string)[0] != ""
				if wantManaged := []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}; vpc && !slices.Equal(managed, wantManaged) || !vpc && len(managed) > 0 {
					t.Errorf("%s: managed policies %v (in a VPC: %v)", r.function, managed, vpc)
				}
				for _, st := range stmts {
					for _, a := range st.actions {
						if !slices.Contains(append(append(slices.Clone(consumeActions), publishActions...),
							"logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue", "ssm:GetParameter", "kms:Decrypt"), a) {
							t.Errorf("%s: grants %s, which no role needs", r.function, a)
						}
					}
					for _, res := range st.resources {
						if res == "*" || strings.HasSuffix(res, ":*") && !strings.Contains(res, "getatt:") {
							t.Errorf("%s: grants %v on %s", r.function, st.actions, res)
						}
					}
				}
			}
		})
	}
}

func checkQueueGrants(t *testing.T, s *stack, r role, stmts []statement, queues map[string]string) {
	t.Helper()
	own := map[string]bool{}
	for _, c := range s.topology() {
		if c.role.name == r.name {
			own[c.queue], own[redriveName(c.queue)] = true, true
			for _, a := range consumeActions {
				if !allowed(stmts, a, queueArn(c.queue)) {
					t.Errorf("%s cannot %s on its queue %s", r.function, a, c.queue)
				}
			}
		}
	}
	for q := range queues {
		for _, a := range publishActions {
			if !allowed(stmts, a, queueArn(q)) {
				t.Errorf("%s cannot %s on %s", r.function, a, q)
			}
		}
		// Its own redrive queues match its patterns too, which is
		// harmless: nothing polls them, and they are its messages.
		if !own[q] {
			for _, a := range consumeActions {
				if allowed(stmts, a, queueArn(q)) {
					t.Errorf("%s may %s on %s, which is not its queue", r.function, a, q)
				}
			}
		}
	}
}

func checkSecretGrants(t *testing.T, s *stack, r role, stmts []statement) {
	t.Helper()
	var want []statement
	if r.storage {
		if arn := s.param("StorageUrlSecretArn"); arn != "" {
			want = append(want, statement{actions: []string{"secretsmanager:GetSecretValue"}, resources: []string{arn}})
		}
		if name := s.param("StorageUrlSsmParameter"); name != "" {
			want = append(want, statement{actions: []string{"ssm:GetParameter"}, resources: []string{"arn:aws:ssm:" + region + ":" + account + ":parameter" + name}})
		}
		if key := s.param("StorageUrlKmsKeyArn"); key != "" {
			want = append(want, statement{actions: []string{"kms:Decrypt"}, resources: []string{key}})
		}
	}
	var got []statement
	for _, st := range stmts {
		if slices.ContainsFunc(st.actions, func(a string) bool { return !strings.HasPrefix(a, "sqs:") && !strings.HasPrefix(a, "logs:") }) {
			got = append(got, st)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: secret grants %v, want %v", r.function, got, want)
		return
	}
	for i := range got {
		if !slices.Equal(got[i].actions, want[i].actions) || !slices.Equal(got[i].resources, want[i].resources) {
			t.Errorf("%s: secret grant %v, want %v", r.function, got[i], want[i])
		}
		if got[i].actions[0] == "kms:Decrypt" && !strings.Contains(fmt.Sprint(got[i].condition), "kms:ViaService") {
			t.Errorf("%s: kms:Decrypt without a kms:ViaService condition", r.function)
		}
	}
}
