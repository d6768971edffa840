//go:build !weft_custom || weft_postgres

package linked

import _ "github.com/weftio/weft/storage/postgres"
