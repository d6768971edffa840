package baseimage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
)

// Repository names the base in ko's cache. The .invalid domain never
// resolves: should ko miss the cache, it fails instead of pulling an image
// of that name from anywhere.
const Repository = "base.weft.invalid/static"

// WriteKOCache stores img where ko (v0.19) looks before pulling a base
// given by digest: the OCI layout $KOCACHE/img, whose index it searches
// for the digest and whose blobs it reads the layers from. It returns the
// reference to give ko as its base (KO_DEFAULTBASEIMAGE): the Repository
// at the image's digest. A tag would make ko ask a registry for the digest.
func WriteKOCache(kocache string, img v1.Image) (name.Digest, error) {
	dir := filepath.Join(kocache, "img")
	p, err := layout.FromPath(dir)
	if errors.Is(err, os.ErrNotExist) {
		p, err = layout.Write(dir, empty.Index)
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("open ko cache %s: %w", dir, err)
	}
	h, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	// Replace rather than append, so running again leaves one entry.
	if err := p.ReplaceImage(img, match.Digests(h)); err != nil {
		return name.Digest{}, fmt.Errorf("write base to %s: %w", dir, err)
	}
	return name.NewDigest(Repository + "@" + h.String())
}
