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
