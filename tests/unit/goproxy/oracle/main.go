// Command oracle answers questions with golang.org/x/mod, for differential tests.
//
// The tests build it from the x/mod sources vendored in the local Go toolchain
// (no network), start it once, and write one JSON request per line to its stdin:
// {"op": "checkPath", "args": ["example.com/m"]}. Each answer is one JSON line:
// {"value": ..., "err": "..."}.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"time"
	"unicode"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

type request struct {
	Op   string   `json:"op"`
	Args []string `json:"args"`
}

type answer struct {
	Value any    `json:"value"`
	Err   string `json:"err"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			out.Encode(answer{Err: "bad request: " + err.Error()})
			continue
		}
		out.Encode(handle(req.Op, req.Args))
	}
}

func handle(op string, a []string) answer {
	switch op {
	case "checkPath":
		return answer{Err: errString(module.CheckPath(a[0]))}
	case "checkImportPath":
		return answer{Err: errString(module.CheckImportPath(a[0]))}
	case "checkFilePath":
		return answer{Err: errString(module.CheckFilePath(a[0]))}
	case "checkFilePathEach":
		errs := []string{}
		for _, p := range a {
			errs = append(errs, errString(module.CheckFilePath(p)))
		}
		return answer{Value: errs}
	case "splitPathVersion":
		prefix, major, ok := module.SplitPathVersion(a[0])
		return answer{Value: []any{prefix, major, ok}}
	case "checkPathMajor":
		return answer{Err: errString(module.CheckPathMajor(a[0], a[1]))}
	case "check":
		return answer{Err: errString(module.Check(a[0], a[1]))}
	case "escapePath":
		v, err := module.EscapePath(a[0])
		return answer{Value: v, Err: errString(err)}
	case "unescapePath":
		v, err := module.UnescapePath(a[0])
		return answer{Value: v, Err: errString(err)}
	case "escapeVersion":
		v, err := module.EscapeVersion(a[0])
		return answer{Value: v, Err: errString(err)}
	case "unescapeVersion":
		v, err := module.UnescapeVersion(a[0])
		return answer{Value: v, Err: errString(err)}
	case "semver":
		v := a[0]
		return answer{Value: map[string]any{
			"isValid":          semver.IsValid(v),
			"canonical":        semver.Canonical(v),
			"canonicalVersion": module.CanonicalVersion(v),
			"major":            semver.Major(v),
			"majorMinor":       semver.MajorMinor(v),
			"prerelease":       semver.Prerelease(v),
			"build":            semver.Build(v),
		}}
	case "compare":
		return answer{Value: semver.Compare(a[0], a[1])}
	case "sort":
		list := append([]string(nil), a...)
		semver.Sort(list)
		return answer{Value: list}
	case "pseudo":
		v := a[0]
		result := map[string]any{"isPseudo": module.IsPseudoVersion(v)}
		if t, err := module.PseudoVersionTime(v); err == nil {
			result["time"] = t.UTC().Format(time.RFC3339)
		} else {
			result["timeErr"] = err.Error()
		}
		if rev, err := module.PseudoVersionRev(v); err == nil {
			result["rev"] = rev
		}
		if base, err := module.PseudoVersionBase(v); err == nil {
			result["base"] = base
		} else {
			result["baseErr"] = err.Error()
		}
		return answer{Value: result}
	case "matchPrefixPatterns":
		return answer{Value: module.MatchPrefixPatterns(a[0], a[1])}
	case "pathMatch":
		ok, err := path.Match(a[0], a[1])
		return answer{Value: ok, Err: errString(err)}
	case "parseLax":
		return parseLax(a[0])
	case "modulePath":
		return answer{Value: modfile.ModulePath([]byte(a[0]))}
	case "hashGoMod":
		data := []byte(a[0])
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		return answer{Value: h, Err: errString(err)}
	case "hashZip":
		h, err := dirhash.HashZip(a[0], dirhash.Hash1)
		return answer{Value: h, Err: errString(err)}
	case "checkZip":
		cf, err := zip.CheckZip(module.Version{Path: a[0], Version: a[1]}, a[2])
		valid := cf.Valid
		sort.Strings(valid)
		return answer{Value: valid, Err: errString(err)}
	case "foldEach":
		// zip's unexported strToFold, rune by rune, to compare collision keys.
		folded := []string{}
		for _, r := range a[0] {
			folded = append(folded, strToFold(string(r)))
		}
		return answer{Value: folded}
	case "unzip":
		err := zip.Unzip(a[3], module.Version{Path: a[0], Version: a[1]}, a[2])
		return answer{Err: errString(err)}
	case "revInfo":
		// What cmd/go's proxy client does with a .info or @latest body
		// (modfetch/proxy.go Stat/Latest): json.Unmarshal into a RevInfo.
		info := new(revInfo)
		if err := json.Unmarshal([]byte(a[0]), info); err != nil {
			return answer{Err: err.Error()}
		}
		when := ""
		if !info.Time.IsZero() {
			when = info.Time.UTC().Format(time.RFC3339Nano)
		}
		return answer{Value: map[string]any{"version": info.Version, "time": when, "origin": info.Origin}}
	}
	return answer{Err: "unknown op " + strconv.Quote(op)}
}

// revInfo has the shape of cmd/go/internal/modfetch/codehost.RevInfo (an internal
// package, so it cannot be imported): the struct the go command decodes .info into.
type revInfo struct {
	Origin  *origin
	Name    string
	Short   string
	Version string
	Time    time.Time
	Tags    []string
}

type origin struct {
	VCS       string `json:",omitempty"`
	URL       string `json:",omitempty"`
	Subdir    string `json:",omitempty"`
	Hash      string `json:",omitempty"`
	TagPrefix string `json:",omitempty"`
	TagSum    string `json:",omitempty"`
	Ref       string `json:",omitempty"`
	RepoSum   string `json:",omitempty"`
}

func parseLax(data string) answer {
	f, err := modfile.ParseLax("go.mod", []byte(data), nil)
	if err != nil {
		return answer{Err: err.Error()}
	}
	result := map[string]any{"module": nil, "go": nil, "deprecated": nil}
	if f.Module != nil {
		result["module"] = f.Module.Mod.Path
		if f.Module.Deprecated != "" {
			result["deprecated"] = f.Module.Deprecated
		}
	}
	if f.Go != nil {
		result["go"] = f.Go.Version
	}
	requires := [][]any{}
	for _, r := range f.Require {
		requires = append(requires, []any{r.Mod.Path, r.Mod.Version, r.Indirect})
	}
	retracts := [][]any{}
	for _, r := range f.Retract {
		retracts = append(retracts, []any{r.Low, r.High, r.Rationale})
	}
	result["requires"] = requires
	result["retracts"] = retracts
	return answer{Value: result}
}

// strToFold is a copy of golang.org/x/mod/zip's unexported function of that name.
func strToFold(s string) string {
	var buf []rune
	for _, r := range s {
		for {
			r0 := r
			r = unicode.SimpleFold(r0)
			if r <= r0 {
				break
			}
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		buf = append(buf, r)
	}
	return string(buf)
}
