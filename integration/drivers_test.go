package integration

// Every driver and the HTTP event sink, registered by their imports.
import (
	_ "github.com/weftio/weft/adapters/eventsink"
	_ "github.com/weftio/weft/app/pulsarfunctions"
	_ "github.com/weftio/weft/storage/mysql"
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
	_ "github.com/weftio/weft/transport/pgqueue"
	_ "github.com/weftio/weft/transport/pulsar"
)
