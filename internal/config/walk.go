package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft/internal/redact"
)

// field is one leaf setting: its environment variable, its YAML path and
// where it lives in the struct.
type field struct {
	Env    string
	Path   string
	Desc   string
	Def    string
	Secret bool
	Value  reflect.Value
}

// fields lists the leaf settings of the struct pointed to by v, naming
// environment variables the way envconfig does (prefix + "_" + tag) and YAML
// paths the way the YAML decoder does. An embedded struct adds no part to
// the environment variables (envconfig's rule) and, tagged `yaml:",inline"`,
// none to the YAML paths, so its fields read as the embedding struct's own.
func fields(v reflect.Value, envPrefix, pathPrefix string) []field {
	var out []field
	v = v.Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Tag.Get("ignored") == "true" {
			continue
		}
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			path := pathPrefix
			if !yamlInline(sf.Tag) {
				path = joinPath(pathPrefix, yamlName(sf))
			}
			out = append(out, fields(v.Field(i).Addr(), envPrefix, path)...)
			continue
		}
		envKey := sf.Tag.Get("envconfig")
		if envKey == "" {
			envKey = strings.ToUpper(sf.Name)
		}
		env := envPrefix + "_" + envKey
		path := joinPath(pathPrefix, yamlName(sf))
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type != reflect.TypeFor[time.Time]() {
			out = append(out, fields(fv.Addr(), env, path)...)
			continue
		}
		out = append(out, field{Env: env, Path: path, Desc: sf.Tag.Get("desc"), Def: sf.Tag.Get("default"),
			Secret: sf.Tag.Get("secret") == "true" || strings.Contains(strings.ToLower(sf.Name), "password"), Value: fv})
	}
	return out
}

// yamlName is the YAML key of a field: its tag's name, else its name with
// the first letter in lower case.
func yamlName(sf reflect.StructField) string {
	if name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ","); name != "" {
		return name
	}
	return strings.ToLower(sf.Name[:1]) + sf.Name[1:]
}

// yamlInline reports whether a field's YAML tag has the inline flag.
func yamlInline(tag reflect.StructTag) bool {
	_, flags, _ := strings.Cut(tag.Get("yaml"), ",")
	for f := range strings.SplitSeq(flags, ",") {
		if f == "inline" {
			return true
		}
	}
	return false
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// setString parses s into a leaf field.
func setString(v reflect.Value, s string) error {
	if d, ok := v.Addr().Interface().(interface{ Decode(string) error }); ok {
		return d.Decode(s)
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			v.SetInt(int64(d))
			return nil
		}
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// display renders a leaf for printing, masking secrets: settings that are
// secrets as a whole, and the passwords and tokens inside URLs.
func display(f field) string {
	if f.Secret {
		if f.Value.IsZero() {
			return `""`
		}
		return `"****"`
	}
	if d, ok := f.Value.Interface().(time.Duration); ok {
		return d.String()
	}
	if s, ok := f.Value.Interface().(fmt.Stringer); ok && f.Value.Kind() == reflect.Slice {
		return s.String()
	}
	if f.Value.Kind() == reflect.String {
		// A URL or DSN keeps its password in the userinfo or the query.
		return strconv.Quote(redact.URL(f.Value.String()))
	}
	return fmt.Sprint(f.Value.Interface())
}
