package config_test

// The drivers register their settings when imported, as in a binary that
// links them all.
import (
	_ "github.com/weftio/weft/storage/mysql"
	_ "github.com/weftio/weft/storage/postgres"
	_ "github.com/weftio/weft/storage/redis"
	_ "github.com/weftio/weft/transport/pgqueue"
	_ "github.com/weftio/weft/transport/pulsar"
)
