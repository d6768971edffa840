package app_test

import (
	"github.com/weftio/weft"
	"github.com/weftio/weft/app"
	"github.com/weftio/weft/examples/greeter"
)

// A program of one's own: register the code, hand it to Main. Import the
// drivers it runs on next to it (storage/postgres, transport/pulsar, ...).
func ExampleMain() {
	reg := weft.NewRegistry()
	weft.MustRegister(greeter.Register(reg))
	app.Main(reg)
}

// A role binary: the state engine needs no code of its own.
func ExampleRoles() {
	app.Main(nil, app.Roles("state-engine"))
}
