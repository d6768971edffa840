// Package baseimage builds the base of weft's role images on the machine
// that builds them, so that `make images` pulls nothing: one layer with
// the files a static Go binary running as a non-root user needs (a passwd
// and group naming the nonroot user, the CA certificates of the building
// machine, a writable /tmp), and a config that runs as that user.
//
// The layer is reproducible: fixed owners, modes and times, entries in a
// fixed order, so the same certificates give the same digest.
package baseimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// UID and GID are the nonroot user's, as in the distroless and Chainguard
// static images, so volumes prepared for those fit these.
const (
	UID  = 65532
	GID  = 65532
	User = "65532:65532"
)

// CertsPath is where Go's crypto/x509 looks first for the system's roots
// on Debian-like systems; the bundle is copied there.
const CertsPath = "etc/ssl/certs/ca-certificates.crt"

// Options says what goes into the base.
type Options struct {
	// Certs is a PEM bundle of CA certificates; nil for none (the
	// binaries then trust only CAs their settings name).
	Certs []byte
	// OS and Architecture of the config; linux and amd64 when empty. The
	// layer holds no binary, so any platform a binary is built for fits.
	OS, Architecture string
}

// entry is one file or directory of the layer.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	body     string // a directory when dir is set
	dir      bool
}

// epoch is every entry's time: the build's, not the clock's.
var epoch = time.Unix(0, 0).UTC()

func entries(certs []byte) []entry {
	es := []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: "root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n"},
		{name: "etc/nsswitch.conf", mode: 0o644, body: "hosts: files dns\n"},
		{name: "etc/passwd", mode: 0o644, body: "root:x:0:0:root:/root:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"},
	}
	if len(certs) > 0 {
		es = append(es,
			entry{name: "etc/ssl/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/", mode: 0o755, dir: true},
			entry{name: CertsPath, mode: 0o644, body: string(certs)},
		)
	}
	return append(es,
		entry{name: "home/", mode: 0o755, dir: true},
		entry{name: "home/nonroot/", mode: 0o700, uid: UID, gid: GID, dir: true},
		entry{name: "root/", mode: 0o700, dir: true},
		entry{name: "tmp/", mode: 0o1777, dir: true},
	)
}

// Layer returns the base's one layer as an uncompressed tar.
func Layer(certs []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries(certs) {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write %s: %w", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			return nil, fmt.Errorf("write %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Image returns the base image: an OCI image of the one layer, run as the
// nonroot user in its home.
func Image(o Options) (v1.Image, error) {
	raw, err := Layer(o.Certs)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "weft baseimage", Comment: "passwd, group, CA certificates, /tmp"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = o.OS, o.Architecture
	if cf.OS == "" {
		cf.OS = "linux"
	}
	if cf.Architecture == "" {
		cf.Architecture = "amd64"
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Config.User = User
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	if len(o.Certs) > 0 {
		cf.Config.Env = append(cf.Config.Env, "SSL_CERT_FILE=/"+CertsPath)
	}
	return mutate.ConfigFile(img, cf)
}
