package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.url, "url", os.Getenv("PEERS_POSTGRES_URL"), "PostgreSQL URL (default $PEERS_POSTGRES_URL); its database is replaced by -database")
	flag.StringVar(&o.database, "database", "weft_peers_dbos", "DBOS system database, created when missing")
	flag.StringVar(&o.schema, "schema", "", "schema of DBOS's tables (default: a fresh one, dropped at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the schema at the end")
	flag.IntVar(&o.workflows, "workflows", 1000, "workflows of the measured batch")
	flag.IntVar(&o.steps, "steps", 10, "sequential steps per workflow")
	flag.IntVar(&o.inflight, "inflight", 100, "workflows in flight at once")
	flag.IntVar(&o.warmup, "warmup", -1, "warm-up workflows (default: max(inflight, workflows/3), at most workflows)")
	flag.IntVar(&o.single, "single", 11, "lone workflows run one at a time for single_ms (the median)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	f, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbos bench:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(f); err != nil {
		fmt.Fprintln(os.Stderr, "dbos bench:", err)
		os.Exit(1)
	}
}
