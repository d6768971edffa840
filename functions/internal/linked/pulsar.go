//go:build !weft_custom || weft_pulsar

package linked

// The Pulsar transport and the Pulsar Functions runtime.
import _ "github.com/weftio/weft/app/pulsarfunctions"
