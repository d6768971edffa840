//go:build !weft_custom || weft_pgqueue

package linked

import _ "github.com/weftio/weft/transport/pgqueue"
