//go:build !weft_custom || weft_redis

package linked

import _ "github.com/weftio/weft/storage/redis"
