package pulsar

import (
	"strings"
	"testing"

	"github.com/weftio/weft/core"
)

func TestTopicName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ topic, want string }{
		{"workflow-cmd:Trip", "persistent://acme/prod/workflow-cmd:Trip"},
		{core.DeadLetterTopic("workflow-cmd:Trip"), "persistent://acme/prod/workflow-cmd-dlq:Trip"},
		{"task-executor:Billing.v2_eu", "persistent://acme/prod/task-executor:Billing.v2_eu"},
		{"response:client/1", "persistent://acme/prod/response:client=2F1"},
		{"x:a b=c%", "persistent://acme/prod/x:a=20b=3Dc=25"},
		{"x:Zürich", "persistent://acme/prod/x:Z=C3=BCrich"},
		{"x:orders-partition-3", "persistent://acme/prod/x:orders=2Dpartition-3"},
	} {
		if got := TopicName("acme", "prod", tc.topic); got != tc.want {
			t.Errorf("TopicName(%q) = %q, want %q", tc.topic, got, tc.want)
		}
	}
}

// FuzzTopicName checks the mapping is one-to-one and stays one path
// segment of allowed characters.
func FuzzTopicName(f *testing.F) {
	for _, s := range []string{"workflow-cmd:Trip", "a=2Fb", "a/b", "x-partition-1", "", "=", "é"} {
		f.Add(s, "x:y")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := escapeTopic(a), escapeTopic(b)
		if (a == b) != (ea == eb) {
			t.Fatalf("escapeTopic(%q) = %q and escapeTopic(%q) = %q", a, ea, b, eb)
		}
		for i := 0; i < len(ea); i++ {
			c := ea[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_' || c == '.' || c == ':' || c == '='
			if !ok {
				t.Fatalf("escapeTopic(%q) = %q holds %q", a, ea, c)
			}
		}
		if strings.Contains(ea, "-partition-") {
			t.Fatalf("escapeTopic(%q) = %q reads as a partition", a, ea)
		}
	})
}

func TestParseTopicName(t *testing.T) {
	t.Parallel()
	for _, topic := range []string{
		"workflow-cmd:Trip", core.DeadLetterTopic("workflow-cmd:Trip"), "response:client/1",
		"x:a b=c%", "x:Zürich", "x:orders-partition-3", "=", "a=2Fb",
	} {
		full := TopicName("acme", "prod", topic)
		tenant, ns, got, ok := ParseTopicName(full)
		if !ok || tenant != "acme" || ns != "prod" || got != topic {
			t.Errorf("ParseTopicName(%q) = %q, %q, %q, %t; want acme, prod, %q, true", full, tenant, ns, got, ok, topic)
		}
	}
	for _, full := range []string{
		"",
		"workflow-cmd:Trip",
		"public/default/workflow-cmd:Trip",
		"non-persistent://acme/prod/x:y",
		"persistent://acme/prod",
		"persistent://acme//x:y",
		"persistent:///prod/x:y",
		"persistent://acme/prod/",
		"persistent://acme/prod/x:a=2",  // truncated escape
		"persistent://acme/prod/x:a=zz", // not hex
		"persistent://acme/prod/x:a=2f", // lower-case hex: TopicName writes upper case
		"persistent://acme/prod/x:=61",  // 'a' needs no escape
		"persistent://acme/prod/x:a b",  // a byte TopicName escapes
		"persistent://acme/prod/x:orders-partition-3",
	} {
		if tenant, ns, topic, ok := ParseTopicName(full); ok {
			t.Errorf("ParseTopicName(%q) = %q, %q, %q, true; want ok false", full, tenant, ns, topic)
		}
	}
}

// FuzzParseTopicName checks ParseTopicName inverts TopicName (for the
// non-empty topics weft has) and accepts nothing TopicName does not
// produce.
func FuzzParseTopicName(f *testing.F) {
	for _, s := range []string{"workflow-cmd:Trip", "a=2Fb", "a/b", "x-partition-1", "", "=", "é"} {
		f.Add(s)
		f.Add("persistent://t/n/" + s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tenant, ns, topic, ok := ParseTopicName(TopicName("t", "n", s)); s != "" && (!ok || tenant != "t" || ns != "n" || topic != s) {
			t.Fatalf("ParseTopicName(TopicName(%q)) = %q, %q, %q, %t", s, tenant, ns, topic, ok)
		}
		if tenant, ns, topic, ok := ParseTopicName(s); ok && TopicName(tenant, ns, topic) != s {
			t.Fatalf("ParseTopicName(%q) = %q, %q, %q, but TopicName gives %q", s, tenant, ns, topic, TopicName(tenant, ns, topic))
		}
	})
}
