package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/weftio/weft/internal/config"
	"github.com/weftio/weft/internal/redact"
)

// Suffixes of the variables that name where a setting's secret is kept.
const (
	suffixSecret    = "_SECRET_ARN"
	suffixParameter = "_SSM_PARAMETER"
)

// fetcher reads secrets.
type fetcher interface {
	// secret returns a Secrets Manager secret's string.
	secret(ctx context.Context, id string) (string, error)
	// parameter returns an SSM parameter's value, decrypted.
	parameter(ctx context.Context, name string) (string, error)
}

// fetchTimeout bounds the reading of one secret.
const fetchTimeout = 10 * time.Second

// resolveSecrets reads the secret of every WEFT_<NAME>_SECRET_ARN and
// WEFT_<NAME>_SSM_PARAMETER variable of environ: the map holds WEFT_<NAME>
// with its value. Those variables are then removed from the process's
// environment (they are this runtime's, not settings). The fetcher is
// made only when there is something to read.
func resolveSecrets(ctx context.Context, environ []string, newFetcher func(context.Context) (fetcher, error)) (map[string]string, error) {
	type ref struct{ from, kind, where string }
	refs := map[string]ref{}
	var errs []error
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, config.Prefix+"_") {
			continue
		}
		for _, suffix := range []string{suffixSecret, suffixParameter} {
			name, ok := strings.CutSuffix(k, suffix)
			if !ok || name == config.Prefix {
				continue
			}
			if prev, dup := refs[name]; dup {
				errs = append(errs, fmt.Errorf("%s and %s both name where %s is kept; set one", prev.from, k, name))
				continue
			}
			if other := set(name, name+"_FILE"); other != "" {
				errs = append(errs, fmt.Errorf("%s is set, and %s names a secret for it too; set one", other, k))
				continue
			}
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s is empty", k))
				continue
			}
			refs[name] = ref{from: k, kind: suffix, where: v}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	values := map[string]string{}
	if len(refs) == 0 {
		return values, nil
	}
	f, err := newFetcher(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambda runtime: reading secrets: %w", err)
	}
	names := make([]string, 0, len(refs))
	for name := range refs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := refs[name]
		v, err := read(ctx, f, r.kind, r.where)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", r.from, r.where, err))
			continue
		}
		values[name] = v
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, r := range refs {
		_ = os.Unsetenv(r.from)
	}
	return values, nil
}

// set returns the first of the variables that is set ("" for none).
func set(names ...string) string {
	for _, n := range names {
		if _, ok := os.LookupEnv(n); ok {
			return n
		}
	}
	return ""
}

// read reads one secret: a secret's string, or with "#key" the string
// value of that key of the JSON object it holds; or a parameter's value.
func read(ctx context.Context, f fetcher, kind, where string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if kind == suffixParameter {
		return f.parameter(ctx, where)
	}
	id, key, keyed := strings.Cut(where, "#")
	s, err := f.secret(ctx, id)
	if err != nil || !keyed {
		return s, err
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(s), &fields); err != nil {
		return "", fmt.Errorf("the secret is no JSON object, so it has no key %q", key)
	}
	v, ok := fields[key].(string)
	if !ok {
		return "", fmt.Errorf("the secret has no string at key %q", key)
	}
	return v, nil
}

// awsFetcher reads with the SDK's clients, configured the standard way
// (the function's role; AWS_REGION; AWS_ENDPOINT_URL_* for an emulator).
type awsFetcher struct {
	sm *secretsmanager.Client
	ps *ssm.Client
}

func newFetcher(ctx context.Context) (fetcher, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return awsFetcher{sm: secretsmanager.NewFromConfig(cfg), ps: ssm.NewFromConfig(cfg)}, nil
}

func (a awsFetcher) secret(ctx context.Context, id string) (string, error) {
	out, err := a.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("Secrets Manager: %s", redact.Text(err.Error()))
	}
	if out.SecretString == nil {
		return "", errors.New("the secret holds binary data, not a string")
	}
	return *out.SecretString, nil
}

func (a awsFetcher) parameter(ctx context.Context, name string) (string, error) {
	out, err := a.ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("SSM Parameter Store: %s", redact.Text(err.Error()))
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("the parameter has no value")
	}
	return *out.Parameter.Value, nil
}
