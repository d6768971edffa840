package weft

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckReplayFiles is CheckReplayJSON on files: each path is a JSON file
// (one state as weft describe prints it, or an array of states) or a
// directory, whose *.json files are all read, subdirectories included. A
// path that cannot be read, or a directory without any *.json file, is an
// error: a check that silently checked nothing would pass.
func (r *Registry) CheckReplayFiles(paths ...string) (*ReplayReport, error) {
	rep := &ReplayReport{}
	for _, p := range paths {
		files, err := stateFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read state file: %w", err)
			}
			rep.Merge(r.CheckReplayJSON(f, b))
		}
	}
	return rep, nil
}

// stateFiles lists the files a path stands for, sorted.
func stateFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read states: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read states in %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read states: directory %s holds no .json file", path)
	}
	slices.Sort(files)
	return files, nil
}
