package core

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// DeriveID returns a UUIDv7-shaped identifier whose time part is t (in
// milliseconds) and whose other bits come from SHA-256 of parts. The same
// inputs always give the same id, which is what makes replays and
// redeliveries idempotent: a command re-created by a replay gets the id it had
// the first time, so nothing is dispatched twice.
func DeriveID(t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [4]byte
		l := len(p)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	var u [16]byte
	ms := uint64(t.UnixMilli())
	if t.IsZero() || t.UnixMilli() < 0 {
		ms = 0
	}
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	copy(u[6:], sum[:10])
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// UUIDFromBytes formats 16 bytes of entropy (supplied by the caller, since
// core draws no randomness) as a UUIDv7 with time part t.
func UUIDFromBytes(t time.Time, entropy [16]byte) string {
	u := entropy
	ms := uint64(max(t.UnixMilli(), 0))
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}
