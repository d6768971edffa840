//go:build !weft_custom || weft_pulsar

package linked

import _ "github.com/weftio/weft/transport/pulsar"
