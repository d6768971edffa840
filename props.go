package weft

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
)

// zeroInstance resets *S so fields absent from a snapshot do not leak in
// from a later state.
func zeroInstance(inst any) {
	v := reflect.ValueOf(inst).Elem()
	v.Set(reflect.Zero(v.Type()))
}

// snapshotProps encodes the properties. Their type is the user's, and so
// is its MarshalJSON: a panic in it is an error, never a crash.
func snapshotProps(inst any) (b json.RawMessage, err error) {
	if inst == nil {
		return nil, nil
	}
	defer recoverUserCode("encoding the workflow properties", &err)
	return json.Marshal(inst)
}

// restoreProps resets the properties to a snapshot; a panic in the user's
// UnmarshalJSON is an error, never a crash.
func restoreProps(inst any, props json.RawMessage) (err error) {
	defer recoverUserCode("decoding the workflow properties", &err)
	zeroInstance(inst)
	return json.Unmarshal(props, inst)
}

// recoverUserCode, deferred around a call into user code, turns its panic
// into *err, with the stack.
func recoverUserCode(what string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%s panicked: %v\n%s", what, p, debug.Stack())
	}
}
