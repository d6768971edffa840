// Command baseimage writes the base of weft's role images into ko's cache
// and prints the reference to build on, so that `make images` needs no
// registry and no Docker daemon:
//
//	KOCACHE=bin/images/.kocache KO_DEFAULTBASEIMAGE=$(go run ./scripts/baseimage -kocache bin/images/.kocache) ko build ...
//
// The base holds a passwd and group with the nonroot user (65532), the CA
// certificates of this machine (Debian's bundle when it is installed) and a
// writable /tmp; see internal/baseimage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/weftio/weft/internal/baseimage"
)

func main() {
	kocache := flag.String("kocache", "", "ko's cache folder, the KOCACHE of the ko build (required)")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of the CA certificates to trust; none when the file does not exist")
	platform := flag.String("platform", "linux/amd64", "os/arch the base says it is for (the one of the binaries)")
	flag.Parse()
	if *kocache == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: baseimage -kocache FOLDER [-certs FILE] [-platform OS/ARCH]")
		os.Exit(2)
	}
	if err := run(*kocache, *certs, *platform); err != nil {
		fmt.Fprintln(os.Stderr, "baseimage:", err)
		os.Exit(1)
	}
}

func run(kocache, certsFile, platform string) error {
	goos, arch, ok := strings.Cut(platform, "/")
	if !ok || goos == "" || arch == "" {
		return fmt.Errorf("platform %q is not os/arch", platform)
	}
	certs, err := os.ReadFile(certsFile)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "baseimage: %s does not exist: the images trust no CA but those their settings name (install ca-certificates to add the system's)\n", certsFile)
	} else if err != nil {
		return err
	}
	img, err := baseimage.Image(baseimage.Options{Certs: certs, OS: goos, Architecture: arch})
	if err != nil {
		return err
	}
	ref, err := baseimage.WriteKOCache(kocache, img)
	if err != nil {
		return err
	}
	fmt.Println(ref.String())
	return nil
}
