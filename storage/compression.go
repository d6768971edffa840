package storage

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dsnet/compress/bzip2"
)

// Compression names a value compression format.
type Compression string

// Compression formats. Deflate is the zlib format (what Java's Deflater
// writes), so values written by either side read back.
const (
	CompressionNone    Compression = ""
	CompressionGzip    Compression = "gzip"
	CompressionDeflate Compression = "deflate"
	CompressionBzip2   Compression = "bzip2"
)

// ParseCompression accepts "", "none", "gzip", "deflate" or "bzip2".
func ParseCompression(s string) (Compression, error) {
	switch Compression(s) {
	case "", "none":
		return CompressionNone, nil
	case CompressionGzip, CompressionDeflate, CompressionBzip2:
		return Compression(s), nil
	}
	return "", fmt.Errorf("compression %q is not one of none, gzip, deflate, bzip2", s)
}

// MaxDecompressedSize bounds what one value may inflate to, so a corrupt or
// hostile value cannot exhaust memory.
const MaxDecompressedSize = 256 << 20

// Compressed wraps kv so values are written with format c and read back
// whatever format they were written in (detected from the header), so the
// setting can change with data in place. Key-sets are not compressed.
func Compressed(kv KeyValue, c Compression) KeyValue {
	s := &compressed{KeyValue: kv, c: c}
	if tkv, ok := kv.(TxKeyValue); ok {
		return &compressedTx{compressed: s, tx: tkv}
	}
	return s
}

// compressedTx keeps a transactional driver transactional under compression.
type compressedTx struct {
	*compressed
	tx TxKeyValue
}

func (s *compressedTx) PutTx(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration, hook TxHook) (uint64, error) {
	c, err := Compress(s.c, value)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return s.tx.PutTx(ctx, key, c, expected, ttl, hook)
}

func (s *compressedTx) PutManyTx(ctx context.Context, writes []Write, hook TxHook) ([]uint64, error) {
	out, err := s.compressAll(writes)
	if err != nil {
		return nil, err
	}
	return s.tx.PutManyTx(ctx, out, hook)
}

func (s *compressedTx) TxDomain() string { return s.tx.TxDomain() }

type compressed struct {
	KeyValue
	c Compression
}

func (s *compressed) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	v, ver, err := s.KeyValue.Get(ctx, key)
	if err != nil || ver == 0 {
		return v, ver, err
	}
	d, err := Decompress(v)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	return d, ver, nil
}

func (s *compressed) Put(ctx context.Context, key string, value []byte, expected uint64, ttl time.Duration) (uint64, error) {
	c, err := Compress(s.c, value)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return s.KeyValue.Put(ctx, key, c, expected, ttl)
}

func (s *compressed) GetMany(ctx context.Context, keys []string) ([]Entry, error) {
	es, err := s.KeyValue.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i := range es {
		if es[i].Version == 0 {
			continue
		}
		if es[i].Value, err = Decompress(es[i].Value); err != nil {
			return nil, fmt.Errorf("read %s: %w", keys[i], err)
		}
	}
	return es, nil
}

func (s *compressed) PutMany(ctx context.Context, writes []Write) ([]uint64, error) {
	out, err := s.compressAll(writes)
	if err != nil {
		return nil, err
	}
	return s.KeyValue.PutMany(ctx, out)
}

// compressAll returns writes with their values compressed (deletes stay).
func (s *compressed) compressAll(writes []Write) ([]Write, error) {
	out := make([]Write, len(writes))
	for i, w := range writes {
		out[i] = w
		if w.Value == nil {
			continue
		}
		c, err := Compress(s.c, w.Value)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", w.Key, err)
		}
		out[i].Value = c
	}
	return out, nil
}

// Compress encodes value in format c. CompressionNone returns it as is,
// unless it starts like a compressed value (see Detect): Decompress always
// returns what Compress was given.
func Compress(c Compression, value []byte) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch c {
	case CompressionNone:
		if Detect(value) == CompressionNone {
			return value, nil
		}
		// Written as is, a value that starts like a header (a workflow id
		// "HK-1234" starts like a zlib stream) would be misread, so it is
		// written as a zlib stream of stored blocks: any zlib reader
		// returns it unchanged.
		w, err = zlib.NewWriterLevel(&buf, zlib.NoCompression)
	case CompressionGzip:
		w = gzip.NewWriter(&buf)
	case CompressionDeflate:
		w = zlib.NewWriter(&buf)
	case CompressionBzip2:
		w, err = bzip2.NewWriter(&buf, &bzip2.WriterConfig{Level: bzip2.DefaultCompression})
	default:
		return nil, fmt.Errorf("unknown compression %q", c)
	}
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(value); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Detect names the format of a stored value from its header.
func Detect(v []byte) Compression {
	switch {
	case len(v) >= 3 && v[0] == 0x1f && v[1] == 0x8b && v[2] == 8:
		return CompressionGzip
	case len(v) >= 10 && v[0] == 'B' && v[1] == 'Z' && v[2] == 'h' && v[3] >= '1' && v[3] <= '9' &&
		(bytes.Equal(v[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || bytes.Equal(v[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})):
		return CompressionBzip2
	case len(v) >= 2 && v[0]&0x0f == 8 && v[0]>>4 <= 7 && (uint16(v[0])<<8|uint16(v[1]))%31 == 0 && v[1]&0x20 == 0:
		return CompressionDeflate
	}
	return CompressionNone
}

// Decompress decodes a value written by Compress in any format, or returns
// it unchanged when it carries no compression header.
func Decompress(v []byte) ([]byte, error) { return decompress(v, MaxDecompressedSize) }

// decompress is Decompress refusing values that inflate beyond limit bytes.
func decompress(v []byte, limit int) ([]byte, error) {
	var r io.Reader
	var err error
	c := Detect(v)
	switch c {
	case CompressionNone:
		return v, nil
	case CompressionGzip:
		r, err = gzip.NewReader(bytes.NewReader(v))
	case CompressionDeflate:
		r, err = zlib.NewReader(bytes.NewReader(v))
	case CompressionBzip2:
		r, err = bzip2.NewReader(bytes.NewReader(v), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s value is corrupt: %w", c, err)
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%s value is corrupt: %w", c, err)
	}
	if len(out) > limit {
		return nil, errors.New(string(c) + " value inflates beyond the size limit")
	}
	return out, nil
}

// MaxValueSize forwards the wrapped store's limit (see Limited). It holds
// for the compressed value, so measured on an uncompressed one it is on
// the safe side: a writer keeping below it never meets the store's limit.
func (c *compressed) MaxValueSize() int { return MaxValueSize(c.KeyValue) }
