// Package lambda builds the AWS Lambda runtime into a binary. A program's
// main imports it for its side effects, as database/sql drivers are
// imported:
//
//	import _ "github.com/weftio/weft/app/lambda"
//
// Then the binary runs its roles as a Lambda function when Lambda starts
// it (AWS_LAMBDA_RUNTIME_API is set; or WEFT_RUNTIME=lambda): it speaks
// the Runtime API and hands every invocation to adapters/lambda. It brings
// the SQS transport (WEFT_TRANSPORT=sqs, see transport/sqs), whose queues'
// event source mappings trigger the roles; its delay pump is off unless
// WEFT_SQS_DELAY_PUMP says otherwise, since a function is frozen between
// invocations and the delay queue triggers a function instead.
//
// Secrets come from AWS Secrets Manager or SSM Parameter Store: for a
// setting WEFT_<NAME>, the variable WEFT_<NAME>_SECRET_ARN names a secret
// whose string is the value (with "#key", the value of that key of a JSON
// secret), and WEFT_<NAME>_SSM_PARAMETER names a (SecureString) parameter.
// They are read once, when the execution environment starts.
//
// Build the binary as Lambda wants it: named bootstrap, for the function's
// architecture, with the tag lambda.norpc (see the Makefile's lambda
// target and template.yaml).
package lambda

import (
	"context"
	"errors"
	"fmt"
	"os"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	adapter "github.com/weftio/weft/adapters/lambda"
	"github.com/weftio/weft/internal/bootstrap"
	"github.com/weftio/weft/internal/config"
)

// delayPump is the SQS transport's setting this runtime defaults to off.
const delayPump = config.Prefix + "_SQS_DELAY_PUMP"

func init() {
	bootstrap.RegisterLauncher(bootstrap.Launcher{
		Name:   config.RuntimeLambda,
		Detect: func(_ []string, getenv func(string) string) bool { return getenv("AWS_LAMBDA_RUNTIME_API") != "" },
		Setup: func(args []string) (bootstrap.Platform, error) {
			if len(args) > 0 {
				return nil, fmt.Errorf("the lambda runtime takes no arguments, got %q", args)
			}
			values, err := resolveSecrets(context.Background(), os.Environ(), newFetcher)
			if err != nil {
				return nil, err
			}
			if _, set := os.LookupEnv(delayPump); !set {
				values[delayPump] = "false"
			}
			return platform{values: values}, nil
		},
	})
}

// platform is a Lambda execution environment.
type platform struct {
	values map[string]string // settings read from secrets, and the runtime's defaults
}

func (p platform) Lookup(k string) (string, bool) {
	v, ok := p.values[k]
	return v, ok
}

func (p platform) Keys() []string {
	keys := make([]string, 0, len(p.values))
	for k := range p.values {
		keys = append(keys, k)
	}
	return keys
}

// Run takes invocations until ctx ends. The Runtime API loop never
// returns while it runs; if it fails, the process exits (Lambda starts
// another).
func (p platform) Run(ctx context.Context, r *bootstrap.Running) error {
	h, err := adapter.New(adapter.Config{Functions: r.Functions, Transport: r.Transport, Queues: queuesOf(r.Transport),
		Triggers: r.Triggers, Concurrency: r.Config.Worker.Concurrency * len(r.Functions), Logger: r.Logger})
	if err != nil {
		return err
	}
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		return errors.New("lambda runtime: AWS_LAMBDA_RUNTIME_API is not set: the binary was not started by Lambda (or an emulator of its Runtime API)")
	}
	if r.Ready != nil {
		r.Ready()
	}
	go awslambda.StartWithOptions(h, awslambda.WithContext(ctx))
	<-ctx.Done()
	return nil
}
