package chaos

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options is what a run does, read from the environment:
//
//	WEFT_CHAOS                 full (1,000 workflows, 4 worker kills) or short (CI: 100, 1); unset: skip
//	WEFT_CHAOS_SEED            the schedule's seed (default: random, printed)
//	WEFT_CHAOS_WORKFLOWS       workflows per combination
//	WEFT_CHAOS_STEPS           tasks per workflow (default 10)
//	WEFT_CHAOS_WORKERS         worker processes (default 2)
//	WEFT_CHAOS_WORKER_KILLS    SIGKILLs of a worker per combination
//	WEFT_CHAOS_FAULTS          service faults to inject where they apply, comma-separated
//	                           (default all: postgres-fast,postgres-kill,redis-fast,redis-kill,pulsar-restart;
//	                           also pulsar-kill), or none: no fault at all, worker kills included
//	WEFT_CHAOS_COMBINATIONS    transport+storage pairs (default pulsar+postgres,pulsar+redis,pgqueue+postgres,pgqueue+redis)
//	WEFT_CHAOS_STALL           how long nothing may progress before the run fails (default 5m)
//	WEFT_CHAOS_CONCURRENCY     lanes per role in each worker (default 4)
//	WEFT_CHAOS_RACE            0 builds the workers without the race detector (default 1)
//	WEFT_CHAOS_DIR             the services' state directory (default /var/tmp/weft-chaos)
//	WEFT_CHAOS_PG_PORT, WEFT_CHAOS_REDIS_PORT, WEFT_CHAOS_PULSAR_PORT, WEFT_CHAOS_PULSAR_WEB_PORT,
//	WEFT_CHAOS_PULSAR_BOOKIE_PORT
//	                           the services' ports (default 55442, 56389, 56660, 58090, 53191)
//	WEFT_CHAOS_KEEP_SERVICES   1 leaves the services running at the end
//	WEFT_CHAOS_REPORT          a file the report is written to as well
type options struct {
	mode        string
	seed        int64
	workflows   int
	steps       int
	workers     int
	workerKills int
	faults      []string
	combos      []string
	stall       time.Duration
	concurrency int
	race        bool
	dir         string
	pgPort      int
	redisPort   int
	pulsarPort  int
	webPort     int
	bookiePort  int
	keep        bool
	report      string
}

// serviceFaults are the faults on services, in the order they are named.
var serviceFaults = []string{"postgres-fast", "postgres-kill", "redis-fast", "redis-kill", "pulsar-restart", "pulsar-kill"}

var defaultFaults = []string{"postgres-fast", "postgres-kill", "redis-fast", "redis-kill", "pulsar-restart"}

var allCombos = []string{"pulsar+postgres", "pulsar+redis", "pgqueue+postgres", "pgqueue+redis"}

func readOptions(getenv func(string) string) (options, error) {
	o := options{mode: getenv("WEFT_CHAOS")}
	var errs []string
	num := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a number >= 0", name, v))
		}
		return n
	}
	workflows, kills := 1000, 4
	switch o.mode {
	case "full":
	case "short":
		workflows, kills = 100, 1
	default:
		return o, fmt.Errorf("WEFT_CHAOS=%q: want full or short", o.mode)
	}
	if v := getenv("WEFT_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("WEFT_CHAOS_SEED=%q: want an integer", v))
		}
		o.seed = s
	} else {
		o.seed = time.Now().UnixNano() % 1_000_000_000
	}
	o.workflows = num("WEFT_CHAOS_WORKFLOWS", workflows)
	o.steps = num("WEFT_CHAOS_STEPS", 10)
	o.workers = num("WEFT_CHAOS_WORKERS", 2)
	o.workerKills = num("WEFT_CHAOS_WORKER_KILLS", kills)
	o.concurrency = num("WEFT_CHAOS_CONCURRENCY", 4)
	o.pgPort = num("WEFT_CHAOS_PG_PORT", 55442)
	o.redisPort = num("WEFT_CHAOS_REDIS_PORT", 56389)
	o.pulsarPort = num("WEFT_CHAOS_PULSAR_PORT", 56660)
	o.webPort = num("WEFT_CHAOS_PULSAR_WEB_PORT", 58090)
	o.bookiePort = num("WEFT_CHAOS_PULSAR_BOOKIE_PORT", 53191)
	o.race = getenv("WEFT_CHAOS_RACE") != "0"
	o.keep = getenv("WEFT_CHAOS_KEEP_SERVICES") == "1"
	o.report = getenv("WEFT_CHAOS_REPORT")
	o.dir = getenv("WEFT_CHAOS_DIR")
	if o.dir == "" {
		o.dir = "/var/tmp/weft-chaos"
	}
	o.stall = 5 * time.Minute
	if v := getenv("WEFT_CHAOS_STALL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("WEFT_CHAOS_STALL=%q: want a positive duration", v))
		}
		o.stall = d
	}
	switch v := getenv("WEFT_CHAOS_FAULTS"); v {
	case "":
		o.faults = defaultFaults
	case "none":
		o.workerKills = 0
	default:
		for _, f := range strings.Split(v, ",") {
			if !slices.Contains(serviceFaults, f) {
				errs = append(errs, fmt.Sprintf("WEFT_CHAOS_FAULTS: unknown fault %q (%s, or none)", f, strings.Join(serviceFaults, ", ")))
			}
			o.faults = append(o.faults, f)
		}
	}
	o.combos = allCombos
	if v := getenv("WEFT_CHAOS_COMBINATIONS"); v != "" {
		o.combos = strings.Split(v, ",")
		for _, c := range o.combos {
			if !slices.Contains(allCombos, c) {
				errs = append(errs, fmt.Sprintf("WEFT_CHAOS_COMBINATIONS: unknown combination %q (%s)", c, strings.Join(allCombos, ", ")))
			}
		}
	}
	if o.workflows < 1 || o.steps < 1 || o.workers < 1 || o.concurrency < 1 {
		errs = append(errs, "WEFT_CHAOS_WORKFLOWS, _STEPS, _WORKERS and _CONCURRENCY must be at least 1")
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("chaos options: %s", strings.Join(errs, "; "))
	}
	return o, nil
}

// applies reports whether fault can hit combination combo ("pulsar+redis").
func applies(fault, combo string) bool {
	tr, st, _ := strings.Cut(combo, "+")
	switch fault {
	case "postgres-fast", "postgres-kill":
		return st == "postgres" || tr == "pgqueue"
	case "redis-fast", "redis-kill":
		return st == "redis"
	case "pulsar-restart", "pulsar-kill":
		return tr == "pulsar"
	}
	return false
}

func getenv(k string) string { return os.Getenv(k) }

// cutCombo splits "pulsar+redis" into its transport and storage.
func cutCombo(combo string) (tr, st string, ok bool) { return strings.Cut(combo, "+") }
