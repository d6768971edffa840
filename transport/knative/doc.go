// Package knative is weft's transport for Knative Eventing: the roles post
// their outputs to a sink (a Broker's ingress, $K_SINK) as CloudEvents in
// binary mode, with the extensions a Trigger routes on (wefttopic, and
// weftprefix for a role's topics at once), and they receive their inputs
// as CloudEvents the Broker posts to them over HTTP.
//
// Push, not pull: Subscribe registers a consumer group on a topic in this
// process, and the Transport, as an http.Handler, hands each event posted
// to it to a member of each group subscribed to the event's topic; the
// answer waits for the delivery's settlement and follows the Knative
// data-plane contract: 200 once acknowledged (or dead-lettered: the entry
// is on the dead-letter topic), 503 with Retry-After after a Nack (the
// Broker delivers it again with its backoff), 429 with Retry-After when
// every member is busy, 404 when no group here consumes the topic (a
// process starting up; the Broker retries), 400 for a request that is no
// CloudEvent. The Broker decides how often and how late it retries; the
// Transport counts the attempts it sees and dead-letters a message itself
// after the group's MaxAttempts.
//
// Knative's Brokers cannot delay an event. A delayed envelope (DeliverAt,
// for timers and retries) is kept in the storage the process uses, in
// per-minute buckets, and posted once due by a pump every process runs;
// a replica claims a due message with a versioned write before posting
// it, so two replicas rarely post it twice, and a replica that dies
// holding a claim loses it after DelayClaim. Nothing is ordered: Knative
// delivers in parallel, and weft's roles do not rely on order there.
package knative
