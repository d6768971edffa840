package pgqueue

import "errors"

var (
	// ErrMessageTooLarge is wrapped by the error Publish, PublishRaw and
	// PublishTx return for a body over Config.MaxMessageSize.
	ErrMessageTooLarge = errors.New("pgqueue: message too large")

	// ErrClaimLost is wrapped by the error Ack, Nack and DeadLetter return
	// when the delivery's claim is gone: it was not settled within the
	// visibility timeout, so the message was handed out again (or is about
	// to be). The settlement did not happen; the message will be delivered
	// again. A consumer seeing this often needs a longer VisibilityTimeout.
	ErrClaimLost = errors.New("pgqueue: claim lost: the visibility timeout expired before the delivery was settled")
)
