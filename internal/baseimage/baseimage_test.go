package baseimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestLayer(t *testing.T) {
	t.Parallel()
	raw, err := Layer([]byte("PEM"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name], bodies[h.Name] = h, string(b)
	}
	if bodies[CertsPath] != "PEM" {
		t.Errorf("%s holds %q, want the bundle given", CertsPath, bodies[CertsPath])
	}
	if h := got["tmp/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 {
		t.Errorf("tmp/: %+v, want a directory of mode 1777", h)
	}
	if h := got["home/nonroot/"]; h == nil || h.Uid != UID || h.Gid != GID {
		t.Errorf("home/nonroot/: %+v, want owned by %d:%d", h, UID, GID)
	}
	for _, want := range []string{"etc/passwd", "etc/group"} {
		if !bytes.Contains([]byte(bodies[want]), []byte("nonroot:x:65532:")) {
			t.Errorf("%s names no nonroot 65532: %q", want, bodies[want])
		}
	}
	for name, h := range got {
		if !h.ModTime.Equal(epoch) || (name != "home/nonroot/" && (h.Uid != 0 || h.Gid != 0)) {
			t.Errorf("%s: time %v, owner %d:%d", name, h.ModTime, h.Uid, h.Gid)
		}
	}
	none, err := Layer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(none, []byte("etc/ssl")) {
		t.Errorf("a layer without certificates has etc/ssl")
	}
}

func TestImageReproducible(t *testing.T) {
	t.Parallel()
	a, err := Image(Options{Certs: []byte("PEM")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Image(Options{Certs: []byte("PEM")})
	c, _ := Image(Options{Certs: []byte("other PEM")})
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	if da != db || da == dc {
		t.Errorf("digests %s, %s (same certificates), %s (others): want the first two equal only", da, db, dc)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != User || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config user %q, platform %s/%s", cf.Config.User, cf.OS, cf.Architecture)
	}
}

// TestWriteKOCache: the image is where ko's cache looks for a base given
// by digest, once however often it is written, with its blobs.
func TestWriteKOCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, err := Image(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	for range 2 {
		d, err := WriteKOCache(dir, img)
		if err != nil {
			t.Fatal(err)
		}
		ref = d.String()
	}
	want, _ := img.Digest()
	if ref != Repository+"@"+want.String() {
		t.Errorf("reference %s, want %s@%s", ref, Repository, want)
	}
	ii, err := layout.ImageIndexFromPath(dir + "/img")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != want {
		t.Fatalf("cache index %+v, want the one image %s", m.Manifests, want)
	}
	got, err := ii.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("cached image: %v", err)
	}
}
