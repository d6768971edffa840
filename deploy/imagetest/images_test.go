package imagetest

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/weftio/weft/internal/testenv"
)

var roles = []string{"executor", "state-engine", "tag-engine", "event-listener"}

// profile is the build tags .ko.yaml gives every image.
const profile = "weft_custom,weft_pulsar,weft_postgres,weft_redis,weft_knative"

// maxImageBytes bounds an image's compressed layers: the stripped binary
// (about 10 MB compressed for the largest role) and a base of a few hundred
// kilobytes, with room to grow.
const maxImageBytes = 60 << 20

// TestImages builds the role images as `make images` does, into a
// folder of its own, and checks each: it runs the role's static binary as
// the nonroot user, built with the images' profile, and stays small.
func TestImages(t *testing.T) {
	if os.Getenv("WEFT_TEST_IMAGES") != "1" && !testenv.Required() {
		t.Skip("set WEFT_TEST_IMAGES=1 to build the role images with ko (make images)")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make images needs make: %v", err)
	}
	dir := t.TempDir()
	// The names and platform checked below, whatever the environment says.
	cmd := exec.Command("make", "-C", "../..", "images", "IMAGES_DIR="+dir,
		"IMAGE_REPO=weft", "IMAGE_TAG=latest", "IMAGE_PLATFORM=linux/amd64")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("make images: %v\n%s", err, out.String())
	}
	file := filepath.Join(dir, "weft-images.tar")
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			tag, err := name.NewTag("weft/" + role + ":latest")
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.ImageFromPath(file, &tag)
			if err != nil {
				t.Fatalf("%s in %s: %v", tag, file, err)
			}
			checkConfig(t, img, role)
			checkSize(t, img, role)
			checkFiles(t, img, role)
		})
	}
}

func checkConfig(t *testing.T, img v1.Image, role string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	c := cf.Config
	if want := []string{"/ko-app/" + role}; !slices.Equal(c.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", c.Entrypoint, want)
	}
	if len(c.Cmd) != 0 {
		t.Errorf("cmd %q, want none (the binary runs its roles by default)", c.Cmd)
	}
	if u, _, _ := strings.Cut(c.User, ":"); u != "65532" && u != "nonroot" {
		t.Errorf("user %q, want the nonroot user 65532", c.User)
	}
	for _, e := range c.Env {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "WEFT_") {
			t.Errorf("env sets %s: an image carries no weft setting, the deployment gives them", k)
		}
	}
	if !slices.ContainsFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") && strings.Contains(e, "/ko-app") }) {
		t.Errorf("env %q: PATH does not name /ko-app", c.Env)
	}
	for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.title"} {
		if c.Labels[l] == "" {
			t.Errorf("label %s missing (labels %v)", l, c.Labels)
		}
	}
	if len(c.ExposedPorts) != 0 || len(c.Volumes) != 0 {
		t.Errorf("ports %v, volumes %v: want none", c.ExposedPorts, c.Volumes)
	}
}

func checkSize(t *testing.T, img v1.Image, role string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	t.Logf("%s: %d layers, %d bytes compressed (%.1f MB)", role, len(layers), total, float64(total)/(1<<20))
	if total > maxImageBytes {
		t.Errorf("%s: %d bytes of compressed layers, more than %d", role, total, maxImageBytes)
	}
}

// checkFiles reads the image's flattened file system: the binary, the
// nonroot user and a writable /tmp.
func checkFiles(t *testing.T, img v1.Image, role string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]*tar.Header{}
	var binary, passwd []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")
		files[p] = h
		switch p {
		case "ko-app/" + role:
			if binary, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		case "etc/passwd":
			if passwd, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if binary == nil {
		t.Fatalf("no /ko-app/%s in the image", role)
	}
	if h := files["ko-app/"+role]; h.Mode&0o111 == 0 {
		t.Errorf("/ko-app/%s mode %o: not executable", role, h.Mode)
	}
	checkBinary(t, binary)
	checkDrivers(t, binary, role)
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no nonroot user 65532:\n%s", passwd)
	}
	if h := files["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp is not a directory of mode 1777: %+v", h)
	}
	if h := files["etc/ssl/certs/ca-certificates.crt"]; h == nil {
		if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
			t.Errorf("no CA certificates in the image, though this machine has them")
		}
	}
}

// checkBinary: a static linux/amd64 executable, built with the profile's
// tags, stripped, without cgo and with reflect2's fix (a replaced module).
func checkBinary(t *testing.T, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF %v %v %v, want a 64-bit x86-64 executable", f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("links shared libraries %q", libs)
	}
	// -trimpath keeps -ldflags out of the build info: their effect shows.
	if f.Section(".symtab") != nil {
		t.Errorf("has a symbol table: not stripped (-ldflags -s)")
	}
	if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		t.Errorf("has DWARF: not built with -ldflags -w")
	}
	info, err := buildinfo.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"-tags": profile, "CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux", "GOARCH": "amd64"} {
		if settings[k] != want {
			t.Errorf("built with %s=%q, want %q", k, settings[k], want)
		}
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/modern-go/reflect2" && d.Replace == nil {
			t.Errorf("reflect2 %s is not replaced: built without weft-linkfix's -modfile", d.Version)
		}
	}
}

// checkDrivers runs the binary (on a linux/amd64 machine) to list its
// settings: those of the profile's drivers and no other.
func checkDrivers(t *testing.T, b []byte, role string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Logf("not running the linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
		return
	}
	bin := filepath.Join(t.TempDir(), role)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "config", "env")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s config env: %v", role, err)
	}
	vars := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		k, _, _ := strings.Cut(line, "\t")
		vars[k] = true
	}
	for k, want := range map[string]bool{
		"WEFT_PULSAR_URL": true, "WEFT_POSTGRES_URL": true, "WEFT_REDIS_URL": true, "WEFT_KNATIVE_SINK": true,
		"WEFT_MYSQL_URL": false, "WEFT_PGQUEUE_URL": false,
	} {
		if vars[k] != want {
			t.Errorf("%s config env lists %s: %v, want %v", role, k, vars[k], want)
		}
	}
}
