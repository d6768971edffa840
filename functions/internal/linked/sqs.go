//go:build !weft_custom || weft_sqs

package linked

// The SQS transport (a worker on SQS; the Lambda runtime brings it too).
import _ "github.com/weftio/weft/transport/sqs"
