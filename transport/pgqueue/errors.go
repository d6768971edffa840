package pgqueue

import (
	"fmt"

	"github.com/weftio/weft/transport"
)

var (
	// ErrMessageTooLarge is wrapped by the error Publish, PublishRaw and
	// PublishTx return for a body over Config.MaxMessageSize.
	ErrMessageTooLarge = transport.ErrMessageTooLarge

	// ErrClaimLost is wrapped by the error Ack, Nack and DeadLetter return
	// when the delivery's claim is gone: it was not renewed within the
	// visibility timeout (the transport renews held claims every third of
	// it, so the database was out of reach or the process stalled that
	// long), so the message was handed out again (or is about to be). The
	// settlement did not happen; the message will be delivered again. It
	// wraps transport.ErrRedelivered.
	ErrClaimLost = fmt.Errorf("pgqueue: claim lost: the claim was not renewed within the visibility timeout (%w)", transport.ErrRedelivered)
)
