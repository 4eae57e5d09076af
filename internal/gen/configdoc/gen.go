package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/onecse/onecse/config"
)

// key is one setting: a field of config.Config.
type key struct {
	name   string // the YAML key (and flag name)
	goName string
	typ    string // for people: string, duration, ...
	def    string // default, as written in YAML
	doc    string // the field's comment, or its group's, with Go names replaced by keys
	usage  string // the flag's help text ("" when there is no flag)
	head   string // the key whose comment this one shares ("" when its own)
	value  reflect.Value
}

// plainWord are field names that are also words of the comments.
var plainWord = map[string]bool{"HTTP": true, "WebSocket": true, "Data": true, "Admin": true, "Sync": true, "Metrics": true}

// packagingDefaults are the values the sample file for packages sets
// differently from config.Default: where a packaged onecse keeps its data
// (systemd's StateDirectory, the Docker volume).
var packagingDefaults = map[string]string{"data": "/var/lib/onecse"}

// keys reads the Config struct's fields from the source of package config
// (for the comments) and from the package itself (defaults, flag usage).
func keys(src []byte) ([]key, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var st *ast.StructType
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Config" {
			st, _ = ts.Type.(*ast.StructType)
			return false
		}
		return true
	})
	if st == nil {
		return nil, fmt.Errorf("no struct Config in the source")
	}
	def := config.Default()
	dv := reflect.ValueOf(def)
	dt := dv.Type()
	fs := flag.NewFlagSet("onecse", flag.ContinueOnError)
	def.Flags(fs)
	lines := strings.Split(string(src), "\n")
	var out []key
	names := map[string]string{} // Go name → key
	groupDoc, groupHead := "", ""
	for _, fld := range st.Fields.List {
		// A field without a comment shares the comment of the block it
		// is in (no blank line between); after a blank line it has none.
		if fld.Doc != nil {
			groupDoc, groupHead = fld.Doc.Text(), ""
		} else if l := fset.Position(fld.Pos()).Line; l >= 2 && strings.TrimSpace(lines[l-2]) == "" {
			groupDoc, groupHead = "", ""
		}
		for _, n := range fld.Names {
			sf, ok := dt.FieldByName(n.Name)
			if !ok {
				return nil, fmt.Errorf("field %s not in config.Config", n.Name)
			}
			tag := strings.Split(sf.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			k := key{name: tag, goName: n.Name, doc: groupDoc, value: dv.FieldByIndex(sf.Index)}
			k.typ = typeName(sf.Type)
			k.def = yamlValue(k.value)
			if f := fs.Lookup(tag); f != nil {
				k.usage = f.Usage
			}
			if groupDoc != "" {
				if groupHead == "" {
					groupHead = tag
				} else {
					k.head = groupHead
				}
			}
			names[n.Name] = tag
			out = append(out, k)
		}
	}
	// Comments speak of the settings by their Go names: use the keys. A Go
	// name that is also a word (HTTP, WebSocket, Data) is replaced only
	// where it starts the comment, as Go doc comments do.
	var goNames []string
	for g := range names {
		if !plainWord[g] {
			goNames = append(goNames, regexp.QuoteMeta(g))
		}
	}
	re := regexp.MustCompile(`\b(` + strings.Join(goNames, "|") + `)\b`)
	for i := range out {
		d := strings.Join(strings.Fields(out[i].doc), " ")
		for g, k := range names {
			if strings.HasPrefix(d, g+" ") {
				d = "`" + k + "`" + d[len(g):]
				break
			}
		}
		out[i].doc = re.ReplaceAllStringFunc(d, func(g string) string { return "`" + names[g] + "`" })
		if out[i].doc == "" {
			out[i].doc = upper(out[i].usage) + "."
		}
	}
	return out, nil
}

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "list of strings"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		var fs []string
		for i := 0; i < t.Elem().NumField(); i++ {
			fs = append(fs, strings.Split(t.Elem().Field(i).Tag.Get("yaml"), ",")[0])
		}
		return "list of {" + strings.Join(fs, ", ") + "}"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		return "integer"
	}
	return t.Kind().String()
}

func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// yamlValue writes v as a YAML value that LoadFile reads back to v.
func yamlValue(v reflect.Value) string {
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		return duration(time.Duration(v.Int()))
	case v.Kind() == reflect.String:
		b, err := yaml.Marshal(v.String())
		if err != nil {
			panic(err)
		}
		return strings.TrimSuffix(string(b), "\n")
	case v.Kind() == reflect.Slice:
		var items []string
		for i := 0; i < v.Len(); i++ {
			if v.Index(i).Kind() == reflect.Struct {
				items = append(items, "{...}")
				continue
			}
			items = append(items, yamlValue(v.Index(i)))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// markdown is docs/configuration.md.
func markdown(ks []key) []byte {
	var b bytes.Buffer
	b.WriteString(`<!-- Generated by internal/gen/configdoc from config/config.go (go generate ./config); do not edit. -->

# Configuration reference

Every setting of onecse is a key of the YAML file given with ` + "`--config`" + ` and a command-line flag of the
same name (` + "`--http`" + ` for ` + "`http`" + `). Flags override the file; a key the file does not set keeps its default.
An unknown key in the file is an error, so that a typo does not silently leave a default in place. Durations are
written as Go durations (` + "`10s`, `1m`, `8760h`" + `). ` + "`onecse --help`" + ` lists the flags;
[packaging/onecse.yaml](../packaging/onecse.yaml) is a sample file with every key.

This page is generated from the ` + "`Config`" + ` struct (its comments, defaults and flag descriptions); a test fails when
it is out of date.

| key | type | default | description |
|---|---|---|---|
`)
	for _, k := range ks {
		desc := k.doc
		if k.head != "" {
			desc = "See `" + k.head + "`."
		}
		def := "`" + strings.Trim(k.def, `"'`) + "`"
		if k.def == `""` || k.def == "[]" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.name, k.typ, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	b.WriteString(`
A list is written in YAML flow or block style; on the command line ` + "`--poa`" + ` is repeated and
` + "`--allowed-ae-originators`" + ` takes a comma-separated list. ` + "`credential-bindings`" + ` exists only in the file:

` + "```yaml" + `
credential-bindings:
  - credential-id: 12-mn1@in.example.com
    cse-id: /id-mn
` + "```" + `
`)
	return b.Bytes()
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sample is packaging/onecse.yaml: every key with its comment and the
// value a packaged onecse starts with.
func sample(ks []key) []byte {
	var b bytes.Buffer
	b.WriteString(`# onecse configuration: every key, with its default (data: where packages keep it).
# Generated by internal/gen/configdoc from config/config.go (go generate ./config); do not edit.
# Reference: docs/configuration.md. Flags of the same name override these values:
#   onecse --config /etc/onecse/onecse.yaml
`)
	for _, k := range ks {
		if k.head != "" { // under the comment of its group
			b.WriteString(k.name + ": " + k.def + "\n")
			continue
		}
		b.WriteString("\n")
		for _, l := range wrap(k.doc, 100) {
			b.WriteString("# " + l + "\n")
		}
		v := k.def
		if p, ok := packagingDefaults[k.name]; ok {
			v = p
		}
		if k.typ == "list of strings" && v != "[]" {
			b.WriteString(k.name + ":\n")
			for i := 0; i < k.value.Len(); i++ {
				b.WriteString("  - " + yamlValue(k.value.Index(i)) + "\n")
			}
			continue
		}
		b.WriteString(k.name + ": " + v + "\n")
	}
	return b.Bytes()
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
