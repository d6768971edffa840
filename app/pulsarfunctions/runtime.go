package pulsarfunctions

import (
	"context"
	"fmt"
	"strconv"

	pf "github.com/weftio/weft/adapters/pulsar-functions"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/transport/pulsar"
)

// The Pulsar Functions runtime: a process the functions worker starts with
// -instance-conf runs as that function's instance.
func init() {
	bootstrap.RegisterLauncher(bootstrap.Launcher{
		Name:   config.RuntimePulsarFunctions,
		Detect: func(args []string, _ func(string) string) bool { return pf.Detect(args) },
		Setup:  setup,
	})
}

// setup reads the instance config the worker passed.
func setup(args []string) (bootstrap.Platform, error) {
	conf, err := pf.ParseArgs(args)
	if err != nil {
		return nil, err
	}
	tc, err := conf.TransportConfig()
	if err != nil {
		return nil, err
	}
	settings := map[string]string{}
	// What the instance config says of the broker, under the names of the
	// transport's settings; the function's user config may say otherwise.
	for k, v := range map[string]string{
		"TRANSPORT":                             "pulsar",
		"RUNTIME":                               config.RuntimePulsarFunctions,
		"PULSAR_URL":                            tc.URL,
		"PULSAR_TENANT":                         tc.Tenant,
		"PULSAR_NAMESPACE":                      tc.Namespace,
		"PULSAR_TLS_TRUST_CERTS_FILE":           tc.TLSTrustCertsFile,
		"PULSAR_TLS_ALLOW_INSECURE":             strconv.FormatBool(tc.TLSAllowInsecure),
		"PULSAR_TLS_SKIP_HOSTNAME_VERIFICATION": strconv.FormatBool(tc.TLSSkipHostnameVerification),
		"PULSAR_TOKEN":                          tc.Token,
		"PULSAR_TOKEN_FILE_PATH":                tc.TokenFile,
	} {
		if v != "" {
			settings[config.Prefix+"_"+k] = v
		}
	}
	var user []string
	for k, v := range conf.UserConfig {
		s, ok := v.(string)
		if !ok {
			// Numbers and booleans of the JSON map, as the variable would
			// spell them.
			s = fmt.Sprint(v)
		}
		settings[k] = s
		user = append(user, k+"="+s)
	}
	return &platform{conf: conf, settings: settings, user: user}, nil
}

// platform is one instance of a function.
type platform struct {
	conf     *pf.InstanceConfig
	settings map[string]string
	user     []string
}

func (p *platform) Lookup(key string) (string, bool) {
	v, ok := p.settings[key]
	return v, ok
}

// Keys are the user config's entries: one naming no weft setting is
// refused like an unknown variable (keys without the WEFT_ prefix are the
// user's own and pass).
func (p *platform) Keys() []string { return p.user }

// Run runs the functions as the instance.
func (p *platform) Run(ctx context.Context, r *bootstrap.Running) error {
	tr, ok := r.Transport.(pf.Transport)
	if !ok {
		return fmt.Errorf("the pulsar-functions runtime needs the Pulsar transport (WEFT_TRANSPORT=pulsar), not %T", r.Transport)
	}
	inst, err := pf.New(pf.RunConfig{Instance: p.conf, Functions: r.Functions, Transport: tr, Logger: r.Logger,
		Concurrency: r.Config.Worker.Concurrency, ShutdownGrace: min(r.Config.Worker.ShutdownGrace, pf.DefaultShutdownGrace)})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if r.Ready != nil {
		go func() {
			select {
			case <-inst.Ready():
				r.Ready()
			case <-runCtx.Done():
			}
		}()
	}
	return inst.Run(runCtx)
}

var _ pf.Transport = (*pulsar.Transport)(nil)
