package pulsarfunctions_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/weftio/weft/app"
	_ "github.com/weftio/weft/app/pulsarfunctions"
)

// TestDeployTargetIsBuiltIn: importing the package gives a program the
// pulsar-functions deploy target, whose help warns where secrets belong.
func TestDeployTargetIsBuiltIn(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), nil, []string{"help"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "deploy and undeploy targets built into this binary: pulsar-functions.") {
		t.Errorf("help: exit %d, stdout:\n%s", code, out.String())
	}
	for _, cmd := range []string{"deploy", "undeploy"} {
		out.Reset()
		errOut.Reset()
		code := app.Run(context.Background(), nil, []string{cmd, "pulsar-functions", "-h"}, &out, &errOut)
		if code != 0 || !strings.Contains(errOut.String(), "usage: ") || !strings.Contains(errOut.String(), cmd+" pulsar-functions [flags]") {
			t.Errorf("%s pulsar-functions -h: exit %d, stderr:\n%s", cmd, code, errOut.String())
		}
		if cmd == "deploy" && !strings.Contains(errOut.String(), "userConfig is readable by anyone who may administer the namespace") {
			t.Errorf("deploy -h does not say who can read userConfig:\n%s", errOut.String())
		}
	}
}
