package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// heavy are the libraries a binary links only when it uses their backend.
var heavy = map[string]string{
	"pulsar":           "github.com/apache/pulsar-client-go/",
	"redis":            "github.com/redis/go-redis/",
	"mysql":            "github.com/go-sql-driver/mysql",
	"postgres":         "github.com/jackc/pgx/",
	"docker":           "github.com/moby/",
	"containers":       "github.com/testcontainers/",
	"cloudevents-http": "github.com/cloudevents/sdk-go/v2/client",
}

// deps lists the packages a main links with the given build tags.
func deps(t *testing.T, pkg, tags string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-tags", tags, pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDriversLinkedOnlyWhenUsed: a role binary built for PostgreSQL links
// neither Pulsar, Redis, MySQL nor Docker, and one built on nothing but
// memory links no driver at all; built without tags, it has every driver.
func TestDriversLinkedOnlyWhenUsed(t *testing.T) {
	for _, c := range []struct {
		pkg, tags string
		want      []string
	}{
		{module + "/functions/state-engine", "weft_custom weft_postgres weft_pgqueue", []string{"postgres"}},
		{module + "/functions/executor", "weft_custom weft_redis", []string{"redis"}},
		{module + "/functions/tag-engine", "weft_custom", nil},
		{module + "/functions/state-engine", "", []string{"pulsar", "redis", "mysql", "postgres"}},
		{module + "/examples/hello", "", nil},
		{module + "/examples/greeter/cmd/greeter", "", []string{"pulsar", "redis", "postgres"}},
		{module + "/cmd/weft", "", []string{"pulsar", "redis", "mysql", "postgres", "cloudevents-http"}},
	} {
		linked := map[string]bool{}
		for _, d := range deps(t, c.pkg, c.tags) {
			for name, prefix := range heavy {
				if strings.HasPrefix(d, prefix) {
					linked[name] = true
				}
			}
		}
		for name := range heavy {
			want := false
			for _, w := range c.want {
				want = want || w == name
			}
			if linked[name] != want {
				t.Errorf("%s with tags %q: links %s = %v, want %v", rel(c.pkg), c.tags, name, linked[name], want)
			}
		}
	}
}
