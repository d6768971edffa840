// Package storagetest is the conformance suite every storage driver must
// pass.
//
// A driver's test calls RunKeyValue and/or RunKeySet with a factory:
//
//	func TestKeyValue(t *testing.T) {
//		storagetest.RunKeyValue(t, func(t *testing.T) storage.KeyValue {
//			s := mydriver.Open(...)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Factory contract:
//
//   - It is called once per subtest, from that subtest, and subtests run in
//     parallel. It reports setup failures with t.Fatal.
//   - The stores it returns may share one backend (one server, one database):
//     every subtest works under its own random key prefix, so leftovers of
//     earlier runs or of sibling subtests never collide. Keys stay at most
//     255 bytes long, prefix included.
//   - Each returned store must be closable on its own: the Close subtests
//     close the store they were given, and that must not disturb the stores
//     of other subtests. Closing it is otherwise the factory's job (usually
//     via t.Cleanup); a second Close must be harmless, which the suite checks.
//
// The suite never asserts wall-clock durations. TTL checks poll with a
// generous deadline, and a check that could only fail because the machine was
// slow skips rather than fails.
package storagetest
