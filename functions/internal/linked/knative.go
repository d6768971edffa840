//go:build !weft_custom || weft_knative

package linked

// The Knative transport and runtime.
import _ "github.com/weftio/weft/app/knative"
