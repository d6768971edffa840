package pulsar

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/redacttest"
)

// FuzzConfigURLs reads the service and admin URLs from outside
// (configuration): a configuration that validates names hosts the client
// can dial (host:port, port in range), validation names the field, and
// neither its errors nor the printout show the token or a password in a
// URL.
func FuzzConfigURLs(f *testing.F) {
	for _, s := range []string{
		"pulsar://localhost:6650", "pulsar+ssl://a:6651,b:6651", "pulsar://[::1]", "http://h", "https://h:8443/path",
		"pulsar://h:x", "pulsar://h:99999", "pulsar://a,,b", "pulsar://", "pulsar:/h", "ftp://h", "pulsar://:6650", "pulsar://h:6650:1",
	} {
		f.Add(s, "", "")
	}
	f.Add("pulsar://h:6650", "http://admin:", "@h:8080")
	f.Add("pulsar://h:6650", "http://admin:", "#x@h:8080")
	f.Add("pulsar://u:", "", "@h:6650")
	f.Fuzz(func(t *testing.T, service, adminPrefix, adminSuffix string) {
		admin := ""
		if adminPrefix != "" || adminSuffix != "" {
			admin = adminPrefix + redacttest.Secret + adminSuffix
		}
		c := Config{URL: service, AdminURL: admin, Token: "tok-" + redacttest.Secret}
		err := c.Validate()
		for i, out := range []string{fmt.Sprint(err), c.String(), fmt.Sprintf("%#v %+v %v", c, c, c)} {
			if strings.Contains(out, "tok-"+redacttest.Secret[:4]) {
				t.Fatalf("the token is shown: %s", out)
			}
			// String shows the admin URL as given, password included, so
			// only the errors are checked for it.
			if i == 0 && admin != "" && redacttest.IsPassword(adminPrefix, adminSuffix) {
				if p := redacttest.Shown(out, adminPrefix+service, adminSuffix+service); p != "" {
					t.Fatalf("%q of the admin URL's password is shown: %s", p, out)
				}
			}
		}
		if err != nil {
			if !strings.Contains(err.Error(), "pulsar: Config.") {
				t.Fatalf("error %q does not name the field", err)
			}
			return
		}
		hosts, err := serviceHosts(service)
		if err != nil || len(hosts) == 0 {
			t.Fatalf("valid URL %q: hosts %q, %v", service, hosts, err)
		}
		for _, h := range hosts {
			host, port, err := net.SplitHostPort(h)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				t.Fatalf("valid URL %q names host %q, which cannot be dialled", service, h)
			}
		}
	})
}
