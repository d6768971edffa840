// Package transporttest is the conformance suite every transport driver must
// pass. A driver's test calls Run with a constructor; the suite adapts to the
// driver's Capabilities and skips, naming the capability, what the driver
// does not claim.
//
// Semantics the suite holds every driver to, beyond the comments of the
// transport package:
//
//   - messages published to a topic before its first subscription are
//     delivered to that subscription;
//   - a delayed message does not hold back later messages of its partition
//     key on a keyed subscription (it joins the key's order when it becomes
//     visible);
//   - a nacked message keeps its key blocked on a keyed subscription until it
//     is redelivered and settled.
package transporttest
