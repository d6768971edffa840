//go:build weft_lambda

package linked

// The AWS Lambda runtime, with the SQS transport. Unlike the other
// drivers it is linked only when asked for (weft_lambda), and then with
// the tag lambda.norpc too: without it, aws-lambda-go links Go 1.x's
// retired RPC mode, whose net/rpc looks methods up by name and keeps the
// linker from dropping any exported method.
import _ "github.com/weftio/weft/app/lambda"
