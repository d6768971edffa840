package main

// Every driver, the HTTP event sink and the Pulsar Functions runtime and
// deploy target, registered by their imports.
import (
	_ "github.com/weftio/weft/adapters/eventsink"
	_ "github.com/weftio/weft/app/knative"         // the Knative transport and runtime
	_ "github.com/weftio/weft/app/pulsarfunctions" // the Pulsar transport, the Pulsar Functions runtime and deploy target
	_ "github.com/weftio/weft/storage/mysql"
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
	_ "github.com/weftio/weft/transport/pgqueue"
	_ "github.com/weftio/weft/transport/sqs" // Amazon SQS (the Lambda runtime is in the role binaries: make lambda)
)
