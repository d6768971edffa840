// Package pulsarfunctions builds the Apache Pulsar Functions runtime and
// deploy target into a binary. A program's main imports it for its side
// effects, as database/sql drivers are imported:
//
//	import _ "github.com/weftio/weft/app/pulsarfunctions"
//
// Then the binary runs its roles as a Pulsar Function when the functions
// worker starts it (WEFT_RUNTIME=pulsar-functions), and
// `<program> deploy pulsar-functions` creates or updates one function per
// role through the admin API at WEFT_PULSAR_ADMIN_URL, running the program
// itself (or the role binaries of -dir); `undeploy pulsar-functions`
// removes them. It brings the Pulsar transport (transport/pulsar) with it.
package pulsarfunctions
