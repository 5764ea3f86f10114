package cli

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// This file writes the JSON-like values of an unstructured object (maps
// with string keys, slices, strings, int64, float64, bool, nil) as block
// YAML, an order of magnitude faster than a JSON round trip through a YAML
// library: render writes tens of megabytes for a thousand objectives. The
// output is plain YAML that every parser reads back to the same values:
// keys sorted, strings plain only when nothing could read them as another
// type, double-quoted (with JSON's escapes, which YAML shares) otherwise,
// and multi-line strings as literal blocks when that keeps them exact.
// Tests decode the output with sigs.k8s.io/yaml and compare.

// marshalYAML writes v as a YAML document, falling back to sigs.k8s.io/yaml
// for values it does not write itself.
func marshalYAML(v map[string]any) ([]byte, error) {
	w := yamlWriter{buf: make([]byte, 0, 4096)}
	if err := w.mapping(v, 0, ""); err != nil {
		if errors.Is(err, errFallback) {
			return yaml.Marshal(v)
		}
		return nil, err
	}
	return w.buf, nil
}

// marshalYAMLList writes {key: [parts[0]..., parts[1]..., ...]} as one YAML
// document, the same bytes as marshalYAML of that map, writing the parts on
// every core: a rule file of a thousand objectives is one long list.
func marshalYAMLList(key string, parts [][]any) ([]byte, error) {
	whole := func() ([]byte, error) {
		var all []any
		for _, p := range parts {
			all = append(all, p...)
		}
		return marshalYAML(map[string]any{key: all})
	}
	chunks := make([][]byte, len(parts))
	errs := make([]error, len(parts))
	forEach(len(parts), func(i int) {
		w := yamlWriter{buf: make([]byte, 0, 16384)}
		errs[i] = w.sequence(parts[i], 0)
		chunks[i] = w.buf
	})
	size := len(key) + 4
	for _, c := range chunks {
		size += len(c)
	}
	out, err := appendKey(make([]byte, 0, size), key)
	out = append(out, ":\n"...)
	header := len(out)
	for i, c := range chunks {
		if errs[i] != nil {
			err = errs[i]
		}
		out = append(out, c...)
	}
	switch {
	case errors.Is(err, errFallback), err == nil && len(out) == header:
		// The library writes what the fast writer does not; an empty list
		// is written as [] after the key.
		return whole()
	case err != nil:
		return nil, err
	}
	return out, nil
}

// appendKey appends a mapping key as the writer writes it.
func appendKey(buf []byte, k string) ([]byte, error) {
	if !utf8.ValidString(k) {
		return buf, errFallback
	}
	if plainSafe(k) {
		return append(buf, k...), nil
	}
	return appendQuoted(buf, k), nil
}

// errFallback asks for the general YAML library: a value of a type this
// writer does not know, or text that is not valid UTF-8.
var errFallback = errors.New("value not written by the fast YAML writer")

type yamlWriter struct {
	buf []byte
}

func (w *yamlWriter) indent(n int) {
	for i := 0; i < n; i++ {
		w.buf = append(w.buf, ' ')
	}
}

// mapping writes the keys of m at indentation n. The first line starts with
// first instead of the indentation when first is set (a map in a list).
func (w *yamlWriter) mapping(m map[string]any, n int, first string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 && first != "" {
			w.buf = append(w.buf, first...)
		} else {
			w.indent(n)
		}
		var err error
		if w.buf, err = appendKey(w.buf, k); err != nil {
			return err
		}
		w.buf = append(w.buf, ':')
		if err := w.value(m[k], n, false); err != nil {
			return err
		}
	}
	return nil
}

// value writes v after a key (or a list dash) at indentation n, starting
// with the separator.
func (w *yamlWriter) value(v any, n int, inList bool) error {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			w.buf = append(w.buf, " {}\n"...)
			return nil
		}
		w.buf = append(w.buf, '\n')
		return w.mapping(x, n+2, "")
	case []any:
		if len(x) == 0 {
			w.buf = append(w.buf, " []\n"...)
			return nil
		}
		w.buf = append(w.buf, '\n')
		// Sequences sit at the indentation of their key, as kubectl writes them.
		at := n
		if inList {
			at = n + 2
		}
		return w.sequence(x, at)
	default:
		w.buf = append(w.buf, ' ')
		if err := w.scalar(v, n+2); err != nil {
			return err
		}
		w.buf = append(w.buf, '\n')
		return nil
	}
}

func (w *yamlWriter) sequence(items []any, n int) error {
	for _, item := range items {
		switch x := item.(type) {
		case map[string]any:
			if len(x) == 0 {
				w.indent(n)
				w.buf = append(w.buf, "- {}\n"...)
				continue
			}
			if err := w.mapping(x, n+2, strings.Repeat(" ", n)+"- "); err != nil {
				return err
			}
		case []any:
			w.indent(n)
			w.buf = append(w.buf, '-')
			if err := w.value(x, n, true); err != nil {
				return err
			}
		default:
			w.indent(n)
			w.buf = append(w.buf, "- "...)
			if err := w.scalar(item, n+2); err != nil {
				return err
			}
			w.buf = append(w.buf, '\n')
		}
	}
	return nil
}

// scalar writes a scalar; a multi-line string becomes a literal block
// indented by n.
func (w *yamlWriter) scalar(v any, n int) error {
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case int64:
		w.buf = strconv.AppendInt(w.buf, x, 10)
	case int:
		w.buf = strconv.AppendInt(w.buf, int64(x), 10)
	case float64:
		w.buf = strconv.AppendFloat(w.buf, x, 'g', -1, 64)
	case string:
		return w.scalarString(x, n)
	default:
		return fmt.Errorf("%w: %T", errFallback, v)
	}
	return nil
}

func (w *yamlWriter) scalarString(s string, n int) error {
	if !utf8.ValidString(s) {
		return errFallback
	}
	switch {
	case plainSafe(s):
		w.buf = append(w.buf, s...)
	case literalSafe(s):
		w.buf = append(w.buf, '|')
		body := s
		if strings.HasSuffix(s, "\n") {
			body = strings.TrimSuffix(s, "\n")
		} else {
			w.buf = append(w.buf, '-')
		}
		for _, line := range strings.Split(body, "\n") {
			w.buf = append(w.buf, '\n')
			if line != "" {
				w.indent(n)
				w.buf = append(w.buf, line...)
			}
		}
	default:
		w.buf = appendQuoted(w.buf, s)
	}
	return nil
}

// yamlWords are the plain scalars that YAML 1.1 or 1.2 parsers read as
// booleans or null.
var yamlWords = map[string]bool{
	"y": true, "yes": true, "n": true, "no": true, "true": true, "false": true,
	"on": true, "off": true, "null": true, "~": true,
}

// plainSafe says whether s can be written without quotes and read back as
// the same string by any YAML parser: it starts with a letter, underscore
// or slash (so it is no number, date or indicator), holds only letters,
// digits and a few punctuation marks, has no ": " or " #", does not end in
// a colon or a space, and is no boolean or null word.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; c >= '0' && c <= '9' {
		return durationLike(s)
	} else if !isLetter(c) && c != '_' && c != '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !plainByte(s, i) {
			return false
		}
	}
	return s[len(s)-1] != ' ' && !yamlWords[strings.ToLower(s)]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// plainByte says whether the byte at i may stand in a plain scalar: a
// letter, a digit, one of _./-=+(), a space not before #, a colon not
// before a space or at the end.
func plainByte(s string, i int) bool {
	switch c := s[i]; {
	case isLetter(c), c >= '0' && c <= '9':
		return true
	case strings.IndexByte("_./-=+()", c) >= 0:
		return true
	case c == ' ':
		return i+1 == len(s) || s[i+1] != '#'
	case c == ':':
		return i+1 < len(s) && s[i+1] != ' '
	}
	return false
}

// durationLike says whether s is digits followed by lower-case letters,
// such as 5m or 300ms: no YAML parser reads that as a number, a date or a
// boolean.
func durationLike(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// literalSafe says whether a multi-line string reads back exactly from a
// literal block: printable text, no carriage returns, a first line of text
// that does not start with a blank, no line that ends in blanks, at most
// one newline at the end.
func literalSafe(s string) bool {
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	leading := true
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		// The first line with text sets the block's indentation.
		if leading && (line[0] == ' ' || line[0] == '\t') {
			return false
		}
		leading = false
		if last := line[len(line)-1]; last == ' ' || last == '\t' {
			return false
		}
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && !printable(r) {
			return false
		}
	}
	return true
}

// printable is YAML's printable set, without the next-line character.
func printable(r rune) bool {
	return r >= 0x20 && r <= 0x7e || r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000 && r <= 0x10ffff
}

// appendQuoted writes s as a single-quoted scalar when it is one line of
// printable text (only the quote itself is doubled there, so PromQL stays
// readable), else as a double-quoted scalar with the escapes that JSON and
// YAML share.
func appendQuoted(b []byte, s string) []byte {
	single := true
	for _, r := range s {
		if !printable(r) {
			single = false
			break
		}
	}
	if single {
		b = append(b, '\'')
		for i := 0; i < len(s); i++ {
			if s[i] == '\'' {
				b = append(b, '\'')
			}
			b = append(b, s[i])
		}
		return append(b, '\'')
	}
	return appendDoubleQuoted(b, s)
}

// appendDoubleQuoted writes s as a double-quoted scalar with the escapes
// that JSON and YAML share.
func appendDoubleQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\r':
			b = append(b, `\r`...)
		case printable(r):
			b = utf8.AppendRune(b, r)
		case r <= 0xffff:
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = append(b, `\U`...)
			for shift := 28; shift >= 0; shift -= 4 {
				b = append(b, hex[r>>uint(shift)&0xf])
			}
		}
	}
	return append(b, '"')
}
