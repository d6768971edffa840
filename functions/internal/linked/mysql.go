//go:build !weft_custom || weft_mysql

package linked

import _ "github.com/weftio/weft/storage/mysql"
