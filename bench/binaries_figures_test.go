//go:build linux

package bench

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"
)

// startSample is what one start of a role binary measured.
type startSample struct {
	ready, answer time.Duration // from exec
	rss           int64         // bytes, a second after the ready line
	// logged is what the role wrote to stderr (the tail): at
	// WEFT_LOG_LEVEL=warn, nothing when all went well.
	logged string
}

// binaryFigures sums up the starts of one role binary.
type binaryFigures struct {
	size              int64
	ready, readyMax   time.Duration
	answer, answerMax time.Duration
	rss, rssMax       int64
}

// summarize takes the median and the max of each measure.
func summarize(size int64, samples []startSample) binaryFigures {
	var ready, answer []time.Duration
	var rss []int64
	for _, s := range samples {
		ready, answer, rss = append(ready, s.ready), append(answer, s.answer), append(rss, s.rss)
	}
	slices.Sort(ready)
	slices.Sort(answer)
	slices.Sort(rss)
	f := binaryFigures{size: size}
	if n := len(samples); n > 0 {
		f.ready, f.answer, f.rss = median(ready), median(answer), median(rss)
		f.readyMax, f.answerMax, f.rssMax = ready[n-1], answer[n-1], rss[n-1]
	}
	return f
}

// median is the lower median of sorted, non-empty values: the 50th
// percentile by nearest rank, as percentile computes it.
func median[T cmp.Ordered](sorted []T) T { return sorted[(len(sorted)-1)/2] }

// megabytes are 10^6 bytes, the unit of the goals.
func megabytes(n int64) float64 { return float64(n) / 1e6 }

// report sets the figures as b's metrics; ns/op, meaningless here (the
// measuring happened before), is left out.
func (f binaryFigures) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(f.size), "bytes")
	b.ReportMetric(ms(f.ready), "ready-ms")
	b.ReportMetric(ms(f.readyMax), "ready-max-ms")
	b.ReportMetric(ms(f.answer), "answer-ms")
	b.ReportMetric(ms(f.answerMax), "answer-max-ms")
	b.ReportMetric(megabytes(f.rss), "rss-MB")
	b.ReportMetric(megabytes(f.rssMax), "rss-max-MB")
}

func (f binaryFigures) String() string {
	return fmt.Sprintf("%6.2f MB (%d bytes)  ready %6.1f ms (max %6.1f)  answer %6.1f ms (max %6.1f)  idle RSS %5.1f MB (max %5.1f)",
		megabytes(f.size), f.size, ms(f.ready), ms(f.readyMax), ms(f.answer), ms(f.answerMax), megabytes(f.rss), megabytes(f.rssMax))
}
