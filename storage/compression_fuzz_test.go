package storage

import (
	"bytes"
	"strings"
	"testing"
)

var formats = []Compression{CompressionNone, CompressionGzip, CompressionDeflate, CompressionBzip2}

// fuzzLimit stands in for MaxDecompressedSize, so a small input that
// inflates a lot is refused long before it costs the fuzzer 256 MiB.
const fuzzLimit = 1 << 20

func compressSeeds(f *testing.F) {
	values := [][]byte{
		nil, {}, []byte(`{"v":1,"workflowId":"order-42","workflowName":"Checkout"}`),
		[]byte("HK-1234"), []byte("x^"), bytes.Repeat([]byte{0}, 4096), []byte(strings.Repeat("abc", 100)),
	}
	for _, c := range formats {
		for _, v := range values {
			b, err := Compress(c, v)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	bomb, err := Compress(CompressionGzip, make([]byte, 2*fuzzLimit))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bomb)
	twice, _ := Compress(CompressionGzip, []byte("a"))
	f.Add(append(bytes.Clone(twice), twice...)) // two gzip members
	f.Add([]byte{0x1f, 0x8b, 8})
	f.Add([]byte("BZh91AY&SY"))
	f.Add([]byte{0x78, 0x9c})
}

// FuzzDecompress reads stored values from outside (a corrupt or hostile
// store): decompression returns the value or a clear error, never more than
// the limit, and what it returns compresses back to itself.
func FuzzDecompress(f *testing.F) {
	compressSeeds(f)
	f.Fuzz(func(t *testing.T, v []byte) {
		c := Detect(v)
		out, err := decompress(v, fuzzLimit)
		if err != nil {
			if out != nil {
				t.Fatalf("error %v with %d bytes", err, len(out))
			}
			if c == CompressionNone || !strings.HasPrefix(err.Error(), string(c)+" value ") {
				t.Fatalf("%s value: error %q does not name the format", c, err)
			}
			return
		}
		if len(out) > fuzzLimit {
			t.Fatalf("%s value of %d bytes inflated to %d, beyond the limit", c, len(v), len(out))
		}
		if c == CompressionNone {
			if !bytes.Equal(out, v) {
				t.Fatal("a value without a header came back changed")
			}
			return
		}
		again, err := Compress(c, out)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := decompress(again, fuzzLimit); err != nil || !bytes.Equal(back, out) {
			t.Fatalf("%s round trip: %v", c, err)
		}
	})
}

// FuzzCompressRoundTrips: every value written in any format reads back
// unchanged, whatever it looks like (a raw value may start like a header).
func FuzzCompressRoundTrips(f *testing.F) {
	for i := range formats {
		for _, v := range []string{"", "{}", "HK-1234", "x^", "\x1f\x8b\x08", "BZh91AY&SY", "8O", "(S", "hC"} {
			f.Add(uint8(i), []byte(v))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, v []byte) {
		c := formats[int(which)%len(formats)]
		b, err := Compress(c, v)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		out, err := Decompress(b)
		if err != nil {
			t.Fatalf("%q written as %s does not read back: %v", v, orNone(c), err)
		}
		if !bytes.Equal(out, v) {
			t.Fatalf("%q written as %s reads back as %q", v, orNone(c), out)
		}
	})
}

func orNone(c Compression) string {
	if c == CompressionNone {
		return "none"
	}
	return string(c)
}

// A value inflating beyond the limit is refused with an error, in every
// format, and reading it stops at the limit.
func TestDecompressRefusesBombs(t *testing.T) {
	t.Parallel()
	for _, c := range formats[1:] {
		big, err := Compress(c, make([]byte, fuzzLimit+1))
		if err != nil {
			t.Fatal(err)
		}
		if len(big) > fuzzLimit/64 {
			t.Fatalf("%s: the bomb is %d bytes, not a small input", c, len(big))
		}
		if out, err := decompress(big, fuzzLimit); err == nil || out != nil || !strings.Contains(err.Error(), "size limit") {
			t.Errorf("%s: %d bytes, %v; want a size limit error", c, len(out), err)
		}
		if out, err := decompress(big, fuzzLimit+1); err != nil || len(out) != fuzzLimit+1 {
			t.Errorf("%s at the limit: %d bytes, %v", c, len(out), err)
		}
	}
	if MaxDecompressedSize <= 0 || MaxDecompressedSize > 1<<30 {
		t.Fatalf("MaxDecompressedSize = %d", MaxDecompressedSize)
	}
}
