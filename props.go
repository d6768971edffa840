package weft

import (
	"encoding/json"
	"reflect"
)

// zeroInstance resets *S so fields absent from a snapshot do not leak in
// from a later state.
func zeroInstance(inst any) {
	v := reflect.ValueOf(inst).Elem()
	v.Set(reflect.Zero(v.Type()))
}

func snapshotProps(inst any) (json.RawMessage, error) {
	if inst == nil {
		return nil, nil
	}
	return json.Marshal(inst)
}
