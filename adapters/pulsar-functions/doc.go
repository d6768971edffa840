// Package pulsarfunctions runs weft roles as the Go instance of the Apache
// Pulsar Functions process and Kubernetes runtimes, on weft's Pulsar
// transport (the upstream Go SDK is not used).
//
// A worker starts the binary as `<binary> -instance-conf <JSON>`;
// ParseArgs reads that (or -instance-conf-path) into an InstanceConfig,
// Detect tells such a start from any other. The instance then:
//
//   - serves InstanceControl, the gRPC service the worker polls (status,
//     metrics, health), on the config's port over plaintext HTTP/2, and the
//     Prometheus metrics on metricsPort at / and /metrics, with the names
//     and labels of a Java instance;
//   - gives every input topic of the config (full Pulsar topic names, or
//     patterns over them) to the function that subscribes to the weft topic
//     it carries, and runs each function on adapters/worker with the
//     config's subscription name as its consumer group;
//   - tunes each consumer as the config asks: Key_Shared on keyed topics,
//     or Failover when the config says FAILOVER (retainOrdering); Shared on
//     the others; the initial position (a worker's default is LATEST: deploy
//     with --subs-position Earliest, or messages published before the
//     function first subscribed are never delivered to it); the receiver
//     queue; the consumer properties application, id and instance_id;
//   - settles per processing guarantee: ATLEAST_ONCE acknowledges once the
//     outputs are published, retries failures and dead-letters permanent
//     ones (weft's dead-letter topics, not the config's deadLetterTopic);
//     ATMOST_ONCE acknowledges on receipt; EFFECTIVELY_ONCE is refused.
//     Unlike the Go SDK, which exits on the first failure, the instance
//     counts it and goes on, as a Java instance does;
//   - copies its log lines to the log topic, if any, without ever waiting
//     for it;
//   - stops cleanly when its context ends (wire SIGTERM to it): no new
//     messages, those in flight get ShutdownGrace (8 s, under the worker's
//     10 s before SIGKILL) and are otherwise left unacknowledged for
//     redelivery. With expectedHealthCheckInterval set it also stops after
//     three intervals without a health check.
//
// Pattern inputs are matched against the topics the functions subscribe
// to, once at start: weft's roles have fixed topics, so a topic created
// later is not picked up as Pulsar's pattern consumers would.
//
// A main:
//
//	func main() {
//		conf, err := pulsarfunctions.ParseArgs(os.Args[1:])
//		if err != nil { ... exit 0 on flag.ErrHelp, 2 otherwise }
//		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//		defer stop()
//		tc, err := conf.TransportConfig()
//		...
//		tc.Logger = log
//		tr, err := pulsar.New(ctx, tc)
//		...
//		defer tr.Close()
//		err = pulsarfunctions.Run(ctx, pulsarfunctions.RunConfig{
//			Instance: conf, Functions: roles, Transport: tr, Logger: log,
//		})
//		... exit 1 on err
//	}
package pulsarfunctions
