// Package lambda runs weft's roles as an AWS Lambda function: one
// Handler takes every kind of invocation a role's function gets and
// routes each message to the function consuming its topic.
//
//   - SQS events (the event source mapping of the role's queues): the
//     batch is handled in parallel, the messages of one FIFO message group
//     (one workflow instance) one after another in order. The answer is a
//     partial batch response: only the failed messages are reported
//     (batchItemFailures), so one bad message does not bring its whole
//     batch back; in a FIFO group the first failure and every later
//     message of its group are reported, which keeps the group's order.
//     A failed message comes back after the backoff (its visibility is
//     set through the SQS transport); after MaxAttempts failures of its
//     own (receives minus those this environment did not start it in),
//     or at once for a message that can never be handled, it is written
//     to the dead-letter topic with the reason and reported as handled.
//     An outage or a "not yet" never dead-letters a message: it comes
//     again, ever more slowly (up to 15 minutes), so the queue's redrive
//     backstop does not take it either.
//     Messages of the transport's delay queue are forwarded to their
//     topic once due.
//   - Kafka (Amazon MSK, self-managed) and Amazon MQ (RabbitMQ, ActiveMQ)
//     events: each record's payload is an envelope (base64 in the event);
//     records of one partition or queue are handled in order. These
//     mappings know no partial batch response: a retryable failure fails
//     the invocation, and Lambda delivers the batch again (handling is
//     idempotent, so what was done is not done twice).
//   - Direct invocation with a CloudEvent in structured JSON: a weft
//     envelope is handled; another type is mapped to a command by the
//     configured triggers (WEFT_TRIGGERS) and published.
//
// The invocation's deadline bounds the work: no message is started in
// the last Margin before it, and those not started are reported failed
// (left to come again, promptly) rather than cut off half-way. Outputs
// are published to the configured transport before the handler returns.
// The Handler is built once per execution environment, so its storage
// and transport connections serve every invocation.
package lambda
