package sqs_test

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

// minParallel is the parallelism the package's tests run with at least,
// unless -parallel is given: they spend their time waiting for the server
// (a closing transport lets its long polls end), not computing.
const minParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if p := flag.Lookup("test.parallel"); p != nil && !given {
		if n, err := strconv.Atoi(p.Value.String()); err == nil && n < minParallel {
			_ = p.Value.Set(strconv.Itoa(minParallel))
		}
	}
	os.Exit(m.Run())
}
