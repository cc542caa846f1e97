package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is what --version prints: the module version the binary was built
// from ("(devel)" for a build in a checkout), the commit and whether the
// work tree had changes, when the go command recorded them, and the Go
// version and platform:
//
//	ecrdeploy v1.2.0 (go1.26.0 linux/amd64)
//	ecrdeploy (devel) 0c3bbf0c31e1+modified 2026-11-27T08:52:00Z (go1.26.0 linux/amd64)
func version() string {
	return versionOf(debug.ReadBuildInfo())
}

// versionOf is version for given build information.
func versionOf(info *debug.BuildInfo, ok bool) string {
	parts := []string{"ecrdeploy"}
	v := "(devel)"
	if ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	parts = append(parts, v)
	if ok {
		var revision, when string
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value[:min(len(s.Value), 12)]
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if revision != "" {
			if modified {
				revision += "+modified"
			}
			parts = append(parts, revision)
		}
		if when != "" {
			parts = append(parts, when)
		}
	}
	return strings.Join(parts, " ") + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
