package pulsarfunctions

// The InstanceControl service is generated from internal/controlpb/InstanceCommunication.proto
// and the output is committed, so builds need no protoc. To regenerate, install protoc
// (Debian: protobuf-compiler) and the plugins at the versions go.mod uses:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
//	go install connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1
//
// then run `go generate ./adapters/pulsar-functions/...` (or make proto).
//go:generate protoc -I internal/controlpb --go_out=internal/controlpb --go_opt=paths=source_relative --connect-go_out=internal/controlpb --connect-go_opt=paths=source_relative InstanceCommunication.proto
